//! Parsed GraphQL documents, remembered by their text: clients (the dashboard,
//! scripts, apps) send the same few documents again and again, and parsing one
//! costs more than copying its syntax tree. Only the parse is skipped: every
//! request is still validated against the schema and run as its caller, and a
//! document that fails to parse is never remembered (the schema reports it).
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use async_graphql::parser::types::ExecutableDocument;

/// Longest document remembered (longer ones are parsed every time).
const MAX_LENGTH: usize = 16 * 1024;
/// Most documents remembered; when full, the table starts over.
const MAX_DOCUMENTS: usize = 512;

/// Documents by their exact text.
#[derive(Debug, Default)]
pub struct Documents {
    parsed: Mutex<HashMap<Arc<str>, Arc<ExecutableDocument>>>,
}

/// The process's documents (a pure function of the text, so one table serves
/// every schema in the process).
pub static DOCUMENTS: LazyLock<Documents> = LazyLock::new(Documents::default);

impl Documents {
    /// `query` parsed, if it parses and is short enough to remember.
    pub fn parsed(&self, query: &str) -> Option<ExecutableDocument> {
        if query.len() > MAX_LENGTH {
            return None;
        }
        // Copy the tree outside the lock: only the map is shared.
        let remembered = self.lock().get(query).cloned();
        if let Some(doc) = remembered {
            return Some(ExecutableDocument::clone(&doc));
        }
        let doc = async_graphql::parser::parse_query(query).ok()?;
        let mut parsed = self.lock();
        if parsed.len() >= MAX_DOCUMENTS {
            parsed.clear();
        }
        parsed.insert(Arc::from(query), Arc::new(doc.clone()));
        Some(doc)
    }

    /// How many documents are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Arc<ExecutableDocument>>> {
        // A panic while holding the lock leaves a consistent map.
        self.parsed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_the_table_stays_bounded() {
        let documents = Documents::default();
        let query = "{ schedules { id enabled } }";
        let first = documents.parsed(query).expect("parses");
        let again = documents.parsed(query).expect("remembered");
        assert_eq!(format!("{first:?}"), format!("{again:?}"));
        assert_eq!(documents.len(), 1);

        assert!(
            documents.parsed("{ schedules { ").is_none(),
            "a syntax error"
        );
        assert_eq!(
            documents.len(),
            1,
            "a document that does not parse is not kept"
        );
        let long = format!("{{ me {{ id }} }} #{}", "x".repeat(MAX_LENGTH));
        assert!(documents.parsed(&long).is_none(), "too long to remember");
        assert_eq!(documents.len(), 1);

        for n in 0..MAX_DOCUMENTS + 10 {
            assert!(documents.parsed(&format!("{{ f{n} }}")).is_some());
            assert!(documents.len() <= MAX_DOCUMENTS);
        }
    }
}
