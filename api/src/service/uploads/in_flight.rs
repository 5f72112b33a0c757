//! Claims on what one request at a time may write in this process: a chunk
//! number of an upload, or an upload being appended to (tus).
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Code, Services};

/// Keeps one chunk number of one upload claimed while it is written.
#[derive(Debug)]
pub(crate) struct InFlight {
    services: Services,
    key: (Uuid, i32),
}

impl InFlight {
    /// Claim `key` (upload, chunk number) for this process, or `chunk_in_progress`
    /// with `taken` when another request holds it.
    pub(crate) fn claim(
        services: &Services,
        key: (Uuid, i32),
        taken: &'static str,
    ) -> Result<Self> {
        let mut set = services
            .inner
            .chunks_in_flight
            .lock()
            .map_err(|_| Error::internal("chunk claim lock poisoned"))?;
        if !set.insert(key) {
            return Err(Error::new(Code::ChunkInProgress, taken));
        }
        Ok(Self {
            services: services.clone(),
            key,
        })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut set) = self.services.inner.chunks_in_flight.lock() {
            set.remove(&self.key);
        }
    }
}
