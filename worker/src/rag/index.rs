//! BM25 retrieval over the rows of one datanet version.
//!
//! Each verified contribution blob is JSONL as [`crate::data::parse_jsonl`] reads it; every row
//! becomes one document holding its text (`prompt`, a newline, `completion`; a text row is its
//! `text` alone) tagged with the contribution id and the row's 0-based index in the blob.
//! Text is analysed as English: split on whitespace and punctuation, lower-cased, stop words
//! removed, Snowball-stemmed.
//!
//! Results are deterministic: hits are ordered by score (descending), then contribution id, then
//! row (ascending), and a tie at the `k`-th place is resolved by that order over every row with
//! the tied score, not by the index's internal document order.

use crate::data::{parse_jsonl, Example};
use anyhow::{anyhow, Context, Result};
use attribution_primitives::ContributionId;
use std::path::Path;
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, STORED,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, TantivyDocument};

/// The analyser's name in the index schema.
const ANALYZER: &str = "rag_en";
/// Heap of the single indexing thread (tantivy's minimum is 15 MB).
const WRITER_HEAP_BYTES: usize = 50_000_000;

/// One verified contribution blob of the version.
#[derive(Clone, Copy, Debug)]
pub struct Blob<'a> {
    pub contribution: ContributionId,
    /// The blob's bytes: JSONL rows.
    pub jsonl: &'a [u8],
}

impl Blob<'_> {
    /// The blob's rows; an error names the contribution (and the line, for a bad row).
    pub fn examples(&self) -> Result<Vec<Example>> {
        let source = std::str::from_utf8(self.jsonl)
            .with_context(|| format!("contribution {} is not UTF-8", self.contribution))?;
        parse_jsonl(source).with_context(|| format!("contribution {}", self.contribution))
    }
}

/// One retrieved row.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub contribution: ContributionId,
    /// 0-based index of the row among the blob's rows (blank lines are not rows).
    pub row: u32,
    pub text: String,
    /// BM25 score.
    pub score: f32,
}

/// The text of a row as it is indexed and shown to the model.
pub fn row_text(example: &Example) -> String {
    if example.prompt.is_empty() {
        example.completion.clone()
    } else {
        format!("{}\n{}", example.prompt, example.completion)
    }
}

#[derive(Clone, Copy)]
struct Fields {
    contribution: Field,
    row: Field,
    text: Field,
}

impl Fields {
    fn schema() -> (Schema, Self) {
        let mut builder = Schema::builder();
        let contribution = builder.add_u64_field("contribution", STORED | FAST);
        let row = builder.add_u64_field("row", STORED | FAST);
        let text_options = TextOptions::default().set_stored().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let text = builder.add_text_field("text", text_options);
        (
            builder.build(),
            Self {
                contribution,
                row,
                text,
            },
        )
    }

    fn of(schema: &Schema) -> Result<Self> {
        let field = |name: &str| {
            schema
                .get_field(name)
                .map_err(|_| anyhow!("not a retrieval index: no `{name}` field"))
        };
        Ok(Self {
            contribution: field("contribution")?,
            row: field("row")?,
            text: field("text")?,
        })
    }
}

fn english() -> Result<TextAnalyzer> {
    let stop_words = StopWordFilter::new(Language::English)
        .ok_or_else(|| anyhow!("tantivy has no English stop words"))?;
    Ok(TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(stop_words)
        .filter(Stemmer::new(Language::English))
        .build())
}

/// A BM25 index of a datanet version's rows.
pub struct RowIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl RowIndex {
    /// Indexes `blobs` in memory.
    pub fn create_in_ram(blobs: &[Blob<'_>]) -> Result<Self> {
        let (schema, _) = Fields::schema();
        Self::fill(Index::create_in_ram(schema), blobs)
    }

    /// Indexes `blobs` into the empty directory `dir`; [`RowIndex::open`] reads it back.
    pub fn create_in_dir(dir: &Path, blobs: &[Blob<'_>]) -> Result<Self> {
        let (schema, _) = Fields::schema();
        let index = Index::create_in_dir(dir, schema)
            .with_context(|| format!("creating an index in {}", dir.display()))?;
        Self::fill(index, blobs)
    }

    /// Opens an index written by [`RowIndex::create_in_dir`].
    pub fn open(dir: &Path) -> Result<Self> {
        let index = Index::open_in_dir(dir)
            .with_context(|| format!("opening the index in {}", dir.display()))?;
        Self::ready(index)
    }

    fn ready(index: Index) -> Result<Self> {
        index.tokenizers().register(ANALYZER, english()?);
        let fields = Fields::of(&index.schema())?;
        let reader = index.reader()?;
        Ok(Self {
            index,
            reader,
            fields,
        })
    }

    fn fill(index: Index, blobs: &[Blob<'_>]) -> Result<Self> {
        let this = Self::ready(index)?;
        // One thread, one commit: a single segment whose statistics do not depend on timing.
        let mut writer = this
            .index
            .writer_with_num_threads::<TantivyDocument>(1, WRITER_HEAP_BYTES)?;
        for blob in blobs {
            for (row, example) in blob.examples()?.iter().enumerate() {
                let mut document = TantivyDocument::default();
                document.add_u64(this.fields.contribution, blob.contribution);
                document.add_u64(this.fields.row, row as u64);
                document.add_text(this.fields.text, row_text(example));
                writer.add_document(document)?;
            }
        }
        writer.commit()?;
        this.reader.reload()?;
        Ok(this)
    }

    /// Rows indexed.
    pub fn rows(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The `k` best rows for `query` (fewer when fewer match). The query is its words only
    /// ([`plain_words`]): a user's question is never read as query syntax.
    pub fn search(&self, query: &str, k: usize) -> Result<Vec<Hit>> {
        if k == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let parser = QueryParser::for_index(&self.index, vec![self.fields.text]);
        let (query, _errors) = parser.parse_query_lenient(&plain_words(query));
        // Widen the window until the k-th score is not tied with the first row left out.
        let mut limit = k;
        let found = loop {
            let found = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
            let tied_at_edge = found.len() == limit && found[limit - 1].0 <= found[k - 1].0;
            if !tied_at_edge {
                break found;
            }
            limit *= 2;
        };
        let mut hits = found
            .into_iter()
            .map(|(score, address)| {
                let document: TantivyDocument = searcher.doc(address)?;
                let number = |field: Field| {
                    document
                        .get_first(field)
                        .and_then(|value| value.as_u64())
                        .ok_or_else(|| anyhow!("index document without {field:?}"))
                };
                let text = document
                    .get_first(self.fields.text)
                    .and_then(|value| value.as_str())
                    .ok_or_else(|| anyhow!("index document without text"))?
                    .to_string();
                Ok(Hit {
                    contribution: number(self.fields.contribution)?,
                    row: u32::try_from(number(self.fields.row)?)?,
                    text,
                    score,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.contribution.cmp(&b.contribution))
                .then(a.row.cmp(&b.row))
        });
        hits.truncate(k);
        Ok(hits)
    }
}

/// `query` with every character but letters and digits made a space, lower-cased: the words the
/// analyser's tokenizer would take from it anyway, with nothing left that tantivy's query syntax
/// reads (`field:`, quotes, `+`/`-`, ranges, boosts, upper-case `AND`/`OR`/`NOT`), so a question
/// such as "Note: what are the tools?" is searched for all its words.
pub fn plain_words(query: &str) -> String {
    query
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .to_lowercase()
}
