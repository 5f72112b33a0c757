//! Password hashing behind a small fixed pool: argon2 needs 19 MiB a hash, so
//! a flood of logins must never run more hashes at once than there are cores,
//! nor leave a fresh 19 MiB in every thread that ever hashed. The workers share
//! a few working memories, reused hash after hash: one exists while hashes
//! come one at a time, at most one per worker under load. Work waiting for a
//! worker is bounded too (past it: 429, try again).
use crate::service::Code;
use std::sync::{Arc, Mutex, mpsc};

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash, Salt},
};
use tokio::sync::{Semaphore, oneshot};

use crate::service::error::{Error, Result};

/// Hashes that may wait for a worker before new ones are turned away.
const QUEUE: usize = 256;
/// Largest working memory a stored hash may ask for (blocks of 1 KiB): 64 MiB.
const MAX_BLOCKS: usize = 64 * 1024;

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// The pool. Dropping it ends its threads once their current hash is done.
#[derive(Debug)]
pub struct PasswordPool {
    jobs: Mutex<mpsc::Sender<Job>>,
    waiting: Arc<Semaphore>,
}

/// Working memories not in use right now.
type Memories = Arc<Mutex<Vec<Vec<Block>>>>;

impl PasswordPool {
    /// Start `workers` hashing threads (at least one).
    pub fn new(workers: usize) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let memories = Memories::default();
        for n in 0..workers.max(1) {
            let receiver = receiver.clone();
            let memories = memories.clone();
            std::thread::Builder::new()
                .name(format!("ferry-argon2-{n}"))
                .spawn(move || work(&receiver, &memories))?;
        }
        Ok(Self {
            jobs: Mutex::new(sender),
            waiting: Arc::new(Semaphore::new(QUEUE)),
        })
    }

    /// Run `job` on a worker with its reusable memory.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T> {
        let _place = self
            .waiting
            .clone()
            .try_acquire_owned()
            .map_err(|_| busy())?;
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = tx.send(job(memory));
        });
        self.jobs
            .lock()
            .map_err(|_| Error::internal("password pool poisoned"))?
            .send(job)
            .map_err(|_| Error::internal("password pool stopped"))?;
        rx.await
            .map_err(|_| Error::internal("password worker failed"))
    }

    /// A PHC string (argon2id, default parameters, fresh salt) for `password`.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move |memory| hash_with(memory, password.as_bytes()))
            .await?
    }

    /// Whether `password` matches the PHC string `phc` (false for a malformed one).
    pub async fn verify(&self, password: String, phc: String) -> Result<bool> {
        self.run(move |memory| verify_with(memory, password.as_bytes(), &phc))
            .await
    }
}

fn busy() -> Error {
    Error::new(
        Code::RateLimited,
        "too many sign-ins are being checked; try again shortly",
    )
    .retry_after(1)
}

fn work(receiver: &Mutex<mpsc::Receiver<Job>>, memories: &Mutex<Vec<Vec<Block>>>) {
    loop {
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else {
            return;
        };
        let mut memory = memories
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_default();
        job(&mut memory);
        if let Ok(mut free) = memories.lock() {
            free.push(memory);
        }
    }
}

/// `memory` grown (once) to `blocks` and handed out as exactly that many.
fn blocks(memory: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    &mut memory[..blocks]
}

fn hash_with(memory: &mut Vec<Block>, password: &[u8]) -> Result<String> {
    let internal = |e: &dyn std::fmt::Display| Error::internal(format!("hashing password: {e}"));
    let params = Params::DEFAULT;
    let salt = Salt::generate();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let count = params.block_count();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, salt.as_ref(), &mut out, blocks(memory, count))
        .map_err(|e| internal(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| internal(&e))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| internal(&e))?),
    };
    Ok(phc.to_string())
}

fn verify_with(memory: &mut Vec<Block>, password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let count = params.block_count();
    if count > MAX_BLOCKS {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt.as_ref(),
        &mut out,
        blocks(memory, count),
    );
    // `Output` compares in constant time.
    hashed.is_ok() && Output::new(&out).is_ok_and(|out| &out == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_do_not() {
        let pool = PasswordPool::new(1).expect("pool");
        let phc = pool.hash("correct horse".into()).await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            pool.verify("correct horse".into(), phc.clone())
                .await
                .expect("verify")
        );
        assert!(
            !pool
                .verify("wrong horse".into(), phc)
                .await
                .expect("verify")
        );
        assert!(
            !pool
                .verify("x".into(), "not a hash".into())
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn hashes_of_the_argon2_crate_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let phc = Argon2::default()
            .hash_password(b"old password")
            .expect("hash")
            .to_string();
        let pool = PasswordPool::new(2).expect("pool");
        assert!(
            pool.verify("old password".into(), phc)
                .await
                .expect("verify")
        );
    }
}
