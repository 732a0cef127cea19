//! The engine: one scheduler thread owns the [`Runtime`] and steps every running request
//! together (continuous batching). A request joins the running batch at the next step, its
//! prompt prefilled in chunks beside the others' decode tokens; it leaves when it finishes, or
//! at once when its client hangs up (the event receiver is dropped).
//!
//! Adapters are unmerged: each request names one (or none), the runtime batches requests for
//! different adapters in one pass, and the engine keeps the adapters the runtime holds in an LRU
//! cache bounded by bytes, loading one from its file when a request needs it. The file is read
//! and decoded on a thread of its own while the batch keeps stepping; the request joins the
//! batch once its adapter is in the runtime.

use super::runtime::{
    keep_spare_up_to, prepare_spare_factors, AdapterKey, Chunk, Logits, LoraWeights, Runtime,
    SlotId,
};
use super::sampling::{logprob, Sampler, Sampling, TokenLogprob};
use super::text::{Delta, TextStream};
use anyhow::{anyhow, Context, Result};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokenizers::Tokenizer;
use tokio::sync::{mpsc as async_mpsc, oneshot};

/// Names an adapter across the engine (the chain's model id).
pub type AdapterId = u64;

/// Limits of one engine.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Requests stepped together.
    pub max_running: usize,
    /// Requests waiting for a place; more are refused (HTTP 429).
    pub max_waiting: usize,
    /// Prompt tokens prefilled per step, over all requests, so decoding ones keep their pace.
    pub prefill_budget: usize,
    /// Bytes of adapters the runtime may hold at once (an evicted adapter's memory is kept for
    /// the next read within this and one adapter: [`keep_spare_up_to`]).
    pub adapter_budget: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_running: 8,
            max_waiting: 64,
            prefill_budget: 256,
            adapter_budget: 512 << 20,
        }
    }
}

/// Reads an adapter's weights when a request needs it and the runtime does not hold it (from a
/// file verified against the chain before it got here).
pub type AdapterSource = Arc<dyn Fn() -> Result<LoraWeights> + Send + Sync>;

/// One generation.
#[derive(Clone, Debug)]
pub struct GenerateRequest {
    pub adapter: Option<AdapterId>,
    pub prompt: Vec<u32>,
    pub max_tokens: usize,
    pub sampling: Sampling,
    pub stop: Vec<String>,
    /// `Some(n)`: each token's log-probability and the `n` most likely alternatives.
    pub logprobs: Option<usize>,
    /// Keep the prompt's KV cache when the answer finishes ([`Finished::prompt`]), so that
    /// attributing the answer does not run the prompt again.
    pub keep_prompt: bool,
}

/// A finished request's prompt cache, kept by the engine (the prompt but its last token, in a
/// slot of the request's adapter) until this handle is dropped; [`Engine::exclusive`] work gets
/// its slot. The engine keeps at most `max_running` of them and drops the oldest first, so a
/// handle may find its slot gone: the work then runs the prompt itself.
pub struct KeptPrompt {
    id: u64,
    shared: Arc<Shared>,
}

impl Drop for KeptPrompt {
    fn drop(&mut self) {
        if let Ok(mut forgotten) = self.shared.forgotten.lock() {
            forgotten.push(self.id);
        }
    }
}

impl std::fmt::Debug for KeptPrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptPrompt").field("id", &self.id).finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// End of sequence or a stop string.
    Stop,
    /// `max_tokens` reached.
    Length,
}

/// What a request's receiver gets, in order: tokens, then one `Finished` or `Failed`.
#[derive(Debug)]
pub enum Event {
    Token {
        token: u32,
        /// Text to append (empty while a piece is held back).
        text: String,
        logprob: Option<TokenLogprob>,
    },
    Finished(Finished),
    Failed(String),
}

#[derive(Debug)]
pub struct Finished {
    pub reason: FinishReason,
    pub prompt_tokens: usize,
    /// The answer's tokens and text (without a stop string that ended it).
    pub tokens: Vec<u32>,
    pub text: String,
    /// From arrival to the first answer token.
    pub time_to_first_token: f64,
    /// The prompt's cache, when the request asked to keep it.
    pub prompt: Option<KeptPrompt>,
}

/// Why a request was refused before it ran.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("too many requests in flight; retry later")]
    Busy,
    #[error("the prompt ({prompt} tokens) and max_tokens ({max_tokens}) exceed the context of {context} tokens")]
    TooLong {
        prompt: usize,
        max_tokens: usize,
        context: usize,
    },
    #[error("unknown adapter {0}")]
    UnknownAdapter(AdapterId),
    #[error("the prompt is empty")]
    EmptyPrompt,
    #[error("the engine has stopped")]
    Stopped,
}

/// Work given to the runtime between two steps, with the key of the adapter it asked for and
/// the slot of the kept prompt it named (if the engine still holds it).
type Exclusive = Box<dyn FnOnce(&mut dyn Runtime, Option<AdapterKey>, Option<SlotId>) + Send>;

enum Command {
    Generate(GenerateRequest, async_mpsc::UnboundedSender<Event>),
    Exclusive(Option<AdapterId>, Option<u64>, Exclusive),
}

/// Figures a status or metrics endpoint reads.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct EngineStats {
    pub running: usize,
    pub waiting: usize,
    pub requests_finished: u64,
    pub requests_cancelled: u64,
    pub prompt_tokens: u64,
    pub generated_tokens: u64,
    pub adapters_resident: usize,
    pub adapter_bytes: usize,
    pub adapter_loads: u64,
    pub steps: u64,
}

/// A handle on the engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    commands: Sender<Command>,
    shared: Arc<Shared>,
}

struct Shared {
    tokenizer: Tokenizer,
    /// Tokens that end an answer.
    eos: HashSet<u32>,
    context: usize,
    max_waiting: usize,
    adapters: Mutex<BTreeMap<AdapterId, AdapterSource>>,
    stats: Mutex<EngineStats>,
    /// Ids of [`KeptPrompt`]s dropped since the scheduler last looked.
    forgotten: Mutex<Vec<u64>>,
}

impl Engine {
    /// Starts the scheduler thread, which owns `runtime` until every handle is dropped.
    pub fn start(
        runtime: Box<dyn Runtime>,
        tokenizer: Tokenizer,
        eos: HashSet<u32>,
        config: EngineConfig,
    ) -> Self {
        keep_spare_up_to(config.adapter_budget);
        let (commands, inbox) = mpsc::channel();
        let shared = Arc::new(Shared {
            tokenizer,
            eos,
            context: runtime.max_positions(),
            max_waiting: config.max_waiting,
            adapters: Mutex::new(BTreeMap::new()),
            stats: Mutex::new(EngineStats::default()),
            forgotten: Mutex::new(Vec::new()),
        });
        let scheduler = Scheduler {
            runtime,
            config,
            shared: shared.clone(),
            inbox,
            waiting: VecDeque::new(),
            running: Vec::new(),
            resident: BTreeMap::new(),
            reading: HashSet::new(),
            reads: mpsc::channel(),
            clock: 0,
            kept: BTreeMap::new(),
            next_kept: 0,
        };
        std::thread::Builder::new()
            .name("engine".into())
            .spawn(move || scheduler.run())
            .expect("spawning the engine thread");
        Self { commands, shared }
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.shared.tokenizer
    }

    /// Positions a request may use (prompt and answer).
    pub fn context(&self) -> usize {
        self.shared.context
    }

    /// Makes an adapter available to requests (loaded into the runtime when first used).
    pub fn add_adapter(&self, id: AdapterId, source: AdapterSource) {
        self.shared.adapters.lock().unwrap().insert(id, source);
    }

    pub fn has_adapter(&self, id: AdapterId) -> bool {
        self.shared.adapters.lock().unwrap().contains_key(&id)
    }

    pub fn stats(&self) -> EngineStats {
        self.shared.stats.lock().unwrap().clone()
    }

    /// Queues a generation; its events arrive on the returned receiver. Dropping the receiver
    /// cancels the request and frees its place at the next step.
    pub fn generate(
        &self,
        request: GenerateRequest,
    ) -> Result<async_mpsc::UnboundedReceiver<Event>, Refused> {
        if request.prompt.is_empty() {
            return Err(Refused::EmptyPrompt);
        }
        if request.prompt.len() + request.max_tokens > self.shared.context {
            return Err(Refused::TooLong {
                prompt: request.prompt.len(),
                max_tokens: request.max_tokens,
                context: self.shared.context,
            });
        }
        if let Some(adapter) = request.adapter {
            if !self.has_adapter(adapter) {
                return Err(Refused::UnknownAdapter(adapter));
            }
        }
        {
            let mut stats = self.shared.stats.lock().unwrap();
            if stats.waiting >= self.shared.max_waiting {
                return Err(Refused::Busy);
            }
            stats.waiting += 1;
        }
        let (events, receiver) = async_mpsc::unbounded_channel();
        self.commands
            .send(Command::Generate(request, events))
            .map_err(|_| Refused::Stopped)?;
        Ok(receiver)
    }

    /// Runs `work` on the runtime between two steps, with the key of `adapter` loaded for it
    /// and the slot of `prompt` when the engine still keeps it (teacher-forced scoring for
    /// attribution uses this).
    pub async fn exclusive<R: Send + 'static>(
        &self,
        adapter: Option<AdapterId>,
        prompt: Option<&KeptPrompt>,
        work: impl FnOnce(&mut dyn Runtime, Option<AdapterKey>, Option<SlotId>) -> Result<R>
            + Send
            + 'static,
    ) -> Result<R> {
        if let Some(id) = adapter {
            if !self.has_adapter(id) {
                return Err(Refused::UnknownAdapter(id).into());
            }
        }
        let (done, result) = oneshot::channel();
        let job: Exclusive = Box::new(move |runtime, key, slot| {
            let _ = done.send(work(runtime, key, slot));
        });
        self.commands
            .send(Command::Exclusive(adapter, prompt.map(|p| p.id), job))
            .map_err(|_| Refused::Stopped)?;
        result
            .await
            .map_err(|_| anyhow!("the engine dropped the work"))?
    }
}

/// A request being prefilled or decoded.
struct Active {
    slot: SlotId,
    adapter: Option<AdapterId>,
    request: GenerateRequest,
    events: async_mpsc::UnboundedSender<Event>,
    /// Prompt tokens already in the cache.
    prefilled: usize,
    /// The token to feed next step, once the prompt is in.
    next: Option<u32>,
    sampler: Sampler,
    text: TextStream,
    arrived: Instant,
    first_token: Option<f64>,
}

/// An adapter's weights as a reading thread returns them.
type AdapterRead = (AdapterId, Result<LoraWeights>);

/// Adapter files read at once (each thread holds one adapter's factors until it is loaded).
const MAX_READS: usize = 2;

struct Resident {
    key: AdapterKey,
    bytes: usize,
    last_used: u64,
}

struct Scheduler {
    runtime: Box<dyn Runtime>,
    config: EngineConfig,
    shared: Arc<Shared>,
    inbox: Receiver<Command>,
    waiting: VecDeque<(GenerateRequest, async_mpsc::UnboundedSender<Event>, Instant)>,
    running: Vec<Active>,
    resident: BTreeMap<AdapterId, Resident>,
    /// Adapters whose files are being read on threads of their own.
    reading: HashSet<AdapterId>,
    /// Where those threads send what they read.
    reads: (Sender<AdapterRead>, Receiver<AdapterRead>),
    clock: u64,
    /// Kept prompt caches by id (ids increase: the first is the oldest).
    kept: BTreeMap<u64, SlotId>,
    next_kept: u64,
}

impl Scheduler {
    fn run(mut self) {
        loop {
            // Idle: block for work. Busy: take what arrived and keep stepping.
            if self.running.is_empty() && self.waiting.is_empty() {
                match self.inbox.recv() {
                    Ok(command) => self.accept(command),
                    Err(_) => return,
                }
            }
            loop {
                match self.inbox.try_recv() {
                    Ok(command) => self.accept(command),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) if self.running.is_empty() => return,
                    Err(TryRecvError::Disconnected) => break,
                }
            }
            self.forget();
            while let Ok(read) = self.reads.1.try_recv() {
                self.finish_read(read);
            }
            self.admit();
            if self.running.is_empty() && !self.reading.is_empty() {
                // Nothing to step until a read ends; commands are looked at every few ms.
                match self.reads.1.recv_timeout(Duration::from_millis(5)) {
                    Ok(read) => self.finish_read(read),
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
                }
            }
            if !self.running.is_empty() {
                if let Err(error) = self.step() {
                    tracing::error!(%error, "engine step failed");
                    for active in self.running.drain(..) {
                        let _ = active.events.send(Event::Failed(format!("{error:#}")));
                        self.runtime.release(active.slot);
                    }
                }
            }
            self.publish();
        }
    }

    fn accept(&mut self, command: Command) {
        match command {
            Command::Generate(request, events) => {
                self.waiting.push_back((request, events, Instant::now()))
            }
            Command::Exclusive(adapter, prompt, work) => match self.adapter_key(adapter) {
                Ok(key) => {
                    let slot = prompt.and_then(|id| self.kept.get(&id).copied());
                    work(self.runtime.as_mut(), key, slot)
                }
                Err(error) => tracing::warn!(%error, "exclusive work without its adapter"),
            },
        }
    }

    /// Frees the kept prompts whose handles were dropped.
    fn forget(&mut self) {
        let forgotten = std::mem::take(&mut *self.shared.forgotten.lock().unwrap());
        for id in forgotten {
            if let Some(slot) = self.kept.remove(&id) {
                self.runtime.release(slot);
            }
        }
    }

    /// Keeps `active`'s prompt cache but its last token (a copy: the request's own slot is
    /// released with it), dropping the oldest kept one beyond `max_running`. `None` when the
    /// request did not ask, or the copy cannot be made (the answer is then attributed from a
    /// fresh run of the prompt).
    fn keep_prompt(&mut self, active: &Active) -> Option<KeptPrompt> {
        if !active.request.keep_prompt {
            return None;
        }
        while self.kept.len() >= self.config.max_running {
            let (_, slot) = self.kept.pop_first()?;
            self.runtime.release(slot);
        }
        let len = active.request.prompt.len() - 1;
        match self.runtime.fork(active.slot, len) {
            Ok(slot) => {
                let id = self.next_kept;
                self.next_kept += 1;
                self.kept.insert(id, slot);
                Some(KeptPrompt {
                    id,
                    shared: self.shared.clone(),
                })
            }
            Err(error) => {
                tracing::warn!(%error, "cannot keep the prompt's cache");
                None
            }
        }
    }

    /// Moves waiting requests into the batch while there is room. A request whose adapter is
    /// not resident stays waiting (its place kept) while the adapter is read in the background.
    fn admit(&mut self) {
        let mut blocked = Vec::new();
        while self.running.len() < self.config.max_running {
            let Some((request, events, arrived)) = self.waiting.pop_front() else {
                break;
            };
            if events.is_closed() {
                let mut stats = self.shared.stats.lock().unwrap();
                stats.waiting -= 1;
                stats.requests_cancelled += 1;
                continue;
            }
            if let Some(id) = request.adapter.filter(|id| !self.resident.contains_key(id)) {
                match self.start_read(id) {
                    Ok(()) => blocked.push((request, events, arrived)),
                    Err(error) => {
                        self.shared.stats.lock().unwrap().waiting -= 1;
                        let _ = events.send(Event::Failed(format!("{error:#}")));
                    }
                }
                continue;
            }
            self.shared.stats.lock().unwrap().waiting -= 1;
            let slot = self
                .adapter_key(request.adapter)
                .and_then(|key| self.runtime.allocate(key));
            match slot {
                Ok(slot) => self.running.push(Active {
                    slot,
                    adapter: request.adapter,
                    sampler: Sampler::new(request.sampling.clone()),
                    text: TextStream::new(request.stop.clone()),
                    request,
                    events,
                    prefilled: 0,
                    next: None,
                    arrived,
                    first_token: None,
                }),
                Err(error) => {
                    let _ = events.send(Event::Failed(format!("{error:#}")));
                }
            }
        }
        for request in blocked.into_iter().rev() {
            self.waiting.push_front(request);
        }
    }

    /// How adapter `id`'s weights are read.
    fn source(&self, id: AdapterId) -> Result<AdapterSource, Refused> {
        self.shared
            .adapters
            .lock()
            .unwrap()
            .get(&id)
            .cloned()
            .ok_or(Refused::UnknownAdapter(id))
    }

    /// Reads adapter `id`'s file on a thread of its own unless it is being read (or
    /// [`MAX_READS`] are: it is then started by a later call).
    fn start_read(&mut self, id: AdapterId) -> Result<()> {
        if self.reading.contains(&id) || self.reading.len() >= MAX_READS {
            return Ok(());
        }
        let source = self.source(id)?;
        let done = self.reads.0.clone();
        std::thread::Builder::new()
            .name("adapter-read".into())
            .spawn(move || {
                let read = source();
                let shapes = read.as_ref().ok().map(LoraWeights::factor_shapes);
                let _ = done.send((id, read));
                // Memory for the next reads (as many as may run at once) while this thread
                // is still here: no request waits on it.
                if let Some(shapes) = shapes {
                    prepare_spare_factors(&shapes, true, MAX_READS);
                }
            })
            .context("starting a thread to read an adapter")?;
        self.reading.insert(id);
        Ok(())
    }

    /// Hands a read adapter to the runtime, or fails the requests waiting for it.
    fn finish_read(&mut self, (id, read): AdapterRead) {
        self.reading.remove(&id);
        if self.resident.contains_key(&id) {
            // Loaded meanwhile by exclusive work.
            return;
        }
        let loaded = read
            .with_context(|| format!("loading adapter {id}"))
            .and_then(|weights| self.runtime.load_adapter(weights));
        match loaded {
            Ok((key, bytes)) => self.add_resident(id, key, bytes),
            Err(error) => {
                let message = format!("{error:#}");
                let mut failed = 0;
                self.waiting.retain(|(request, events, _)| {
                    let waits = request.adapter == Some(id);
                    if waits {
                        let _ = events.send(Event::Failed(message.clone()));
                        failed += 1;
                    }
                    !waits
                });
                self.shared.stats.lock().unwrap().waiting -= failed;
            }
        }
    }

    /// Records a loaded adapter and evicts others beyond the budget (never this one: the
    /// requests waiting for it have not joined the batch yet).
    fn add_resident(&mut self, id: AdapterId, key: AdapterKey, bytes: usize) {
        self.clock += 1;
        self.resident.insert(
            id,
            Resident {
                key,
                bytes,
                last_used: self.clock,
            },
        );
        self.shared.stats.lock().unwrap().adapter_loads += 1;
        self.evict(id);
    }

    /// The runtime's key for `adapter`, loading it (and evicting the least recently used ones
    /// no running request needs) when it is not resident.
    fn adapter_key(&mut self, adapter: Option<AdapterId>) -> Result<Option<AdapterKey>> {
        let Some(id) = adapter else {
            return Ok(None);
        };
        self.clock += 1;
        if let Some(resident) = self.resident.get_mut(&id) {
            resident.last_used = self.clock;
            return Ok(Some(resident.key));
        }
        let source = self.source(id)?;
        let weights = source().with_context(|| format!("loading adapter {id}"))?;
        let (key, bytes) = self.runtime.load_adapter(weights)?;
        self.add_resident(id, key, bytes);
        Ok(Some(key))
    }

    fn evict(&mut self, keep: AdapterId) {
        let in_use: HashSet<AdapterId> = self
            .running
            .iter()
            .filter_map(|a| a.adapter)
            .chain([keep])
            .collect();
        while self.resident.values().map(|r| r.bytes).sum::<usize>() > self.config.adapter_budget {
            let Some((&oldest, _)) = self
                .resident
                .iter()
                .filter(|(id, _)| !in_use.contains(id))
                .min_by_key(|(_, r)| r.last_used)
            else {
                break;
            };
            if self.resident.len() == 1 {
                break;
            }
            let resident = self.resident.remove(&oldest).expect("just found");
            if let Err(error) = self.runtime.unload_adapter(resident.key) {
                tracing::warn!(%error, adapter = oldest, "unloading an adapter");
            }
        }
    }

    /// One pass: a prefill chunk for requests still reading their prompt (within the budget),
    /// one token for each decoding request; then sampling and events.
    fn step(&mut self) -> Result<()> {
        // Cancelled requests leave first.
        let mut index = 0;
        while index < self.running.len() {
            if self.running[index].events.is_closed() {
                let active = self.running.swap_remove(index);
                self.runtime.release(active.slot);
                self.shared.stats.lock().unwrap().requests_cancelled += 1;
            } else {
                index += 1;
            }
        }
        if self.running.is_empty() {
            return Ok(());
        }
        let mut budget = self.config.prefill_budget;
        let mut plan: Vec<(usize, usize, bool)> = Vec::new(); // (running index, tokens, logits)
        for (index, active) in self.running.iter().enumerate() {
            if active.next.is_some() {
                plan.push((index, 1, true));
            } else if budget > 0 {
                let left = active.request.prompt.len() - active.prefilled;
                let take = left.min(budget);
                budget -= take;
                plan.push((index, take, take == left));
            }
        }
        let fed: Vec<u32> = plan
            .iter()
            .filter_map(|&(index, _, _)| self.running[index].next)
            .collect();
        let mut fed_at = 0;
        let chunks: Vec<Chunk<'_>> = plan
            .iter()
            .map(|&(index, take, logits)| {
                let active = &self.running[index];
                let tokens = match active.next {
                    Some(_) => {
                        fed_at += 1;
                        std::slice::from_ref(&fed[fed_at - 1])
                    }
                    None => &active.request.prompt[active.prefilled..active.prefilled + take],
                };
                Chunk {
                    slot: active.slot,
                    tokens,
                    logits: if logits { Logits::Last } else { Logits::None },
                }
            })
            .collect();
        let prompt_tokens: usize = plan
            .iter()
            .filter(|&&(index, _, _)| self.running[index].next.is_none())
            .map(|&(_, take, _)| take)
            .sum();
        let logits = self.runtime.forward(&chunks)?;
        let vocab = self.runtime.config().vocab_size;

        let mut row = 0;
        let mut finished = Vec::new();
        let mut generated = 0;
        for &(index, take, wants_logits) in &plan {
            let active = &mut self.running[index];
            if active.next.is_none() {
                active.prefilled += take;
            }
            if !wants_logits {
                continue;
            }
            let logits = &logits[row * vocab..(row + 1) * vocab];
            row += 1;
            let token = active.sampler.sample(logits);
            generated += 1;
            if active.first_token.is_none() {
                active.first_token = Some(active.arrived.elapsed().as_secs_f64());
            }
            let logprob = active
                .request
                .logprobs
                .map(|top| logprob(logits, token, top));
            if self.shared.eos.contains(&token) {
                finished.push((index, FinishReason::Stop, active.text.finish()));
                continue;
            }
            match active.text.push(&self.shared.tokenizer, token) {
                Delta::Stopped(rest) => finished.push((index, FinishReason::Stop, rest)),
                Delta::Text(text) => {
                    let _ = active.events.send(Event::Token {
                        token,
                        text,
                        logprob,
                    });
                    if active.text.tokens().len() >= active.request.max_tokens {
                        finished.push((index, FinishReason::Length, active.text.finish()));
                    } else {
                        active.next = Some(token);
                    }
                }
            }
        }
        // Highest index first so swap_remove leaves the others in place.
        finished.sort_by_key(|f| std::cmp::Reverse(f.0));
        let done = finished.len() as u64;
        for (index, reason, rest) in finished {
            let active = self.running.swap_remove(index);
            let prompt = self.keep_prompt(&active);
            self.runtime.release(active.slot);
            if !rest.is_empty() {
                let _ = active.events.send(Event::Token {
                    token: *active.text.tokens().last().unwrap_or(&0),
                    text: rest,
                    logprob: None,
                });
            }
            let _ = active.events.send(Event::Finished(Finished {
                reason,
                prompt_tokens: active.request.prompt.len(),
                tokens: active.text.tokens().to_vec(),
                text: active.text.text().to_string(),
                time_to_first_token: active.first_token.unwrap_or_default(),
                prompt,
            }));
        }
        let mut stats = self.shared.stats.lock().unwrap();
        stats.steps += 1;
        stats.prompt_tokens += prompt_tokens as u64;
        stats.generated_tokens += generated;
        stats.requests_finished += done;
        Ok(())
    }

    fn publish(&self) {
        let mut stats = self.shared.stats.lock().unwrap();
        stats.running = self.running.len();
        stats.adapters_resident = self.resident.len();
        stats.adapter_bytes = self.resident.values().map(|r| r.bytes).sum();
    }
}
