/** A screen of the studio: its element, and how it reloads its data (on each new block). */
export interface Page {
  element: HTMLElement;
  refresh(): Promise<void>;
}
