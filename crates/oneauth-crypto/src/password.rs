//! argon2id password hashing on a few dedicated threads, not on the request
//! workers: each hash takes `argon2_memory_kib` (19 MiB by default) and
//! ~14 ms of a core, so we bound how many run and what they cost.
//!
//! - Each hashing thread keeps one argon2 block buffer while hashes keep
//!   coming: no 19 MiB allocate/zero/free per hash (page faults were ~20 %
//!   of a login). It gives the buffer back to the system after
//!   [`KEEP_BUFFER`] without work, so an idle server does not hold
//!   threads × memory cost. The buffer is its own memory mapping (see
//!   [`blocks`]): freed blocks kept by malloc in per-thread arenas once grew
//!   RSS to ~900 MiB under a login storm.
//! - The threads run at a lower scheduling priority, so a login storm uses
//!   the idle CPU without delaying token requests on the runtime's workers.
//! - A request that gave up while its hash was queued costs nothing.

use crate::ct_eq;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use oneauth_core::config::Password as PasswordConfig;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use tokio::sync::oneshot;

/// Nice value of the hashing threads: under contention the scheduler gives
/// them ~1/10 of the share of a request worker (CFS weights 110 vs 1024),
/// and all the CPU nobody else wants.
const HASHING_NICE: i32 = 10;

/// Salt length, as the argon2 crate's own hasher uses (RFC 9106 §3.1).
const SALT_LEN: usize = 16;

/// How long a hashing thread without work keeps its block buffer: long
/// enough that a steady trickle of logins reuses it, short enough that
/// memory goes back soon after a storm.
const KEEP_BUFFER: Duration = Duration::from_millis(500);

/// glibc's malloc serves an allocation above its largest sliding mmap
/// threshold (32 MiB on 64-bit) from a mapping of its own and unmaps it on
/// free; a smaller one, once the threshold has slid past it, would come
/// from an arena that keeps the freed memory. Only the blocks a hash uses
/// are ever touched, so the reserve past them costs address space, not RSS.
const OWN_MAPPING_BYTES: usize = (32 << 20) + (1 << 20);

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    jobs: mpsc::Sender<Job>,
}

impl PasswordHasher {
    pub fn new(cfg: &PasswordConfig) -> anyhow::Result<Self> {
        let params = Params::new(
            cfg.argon2_memory_kib,
            cfg.argon2_iterations,
            cfg.argon2_parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..cfg.hashing_threads() {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || hashing_thread(&queue))?;
        }
        Ok(Self { params, jobs })
    }

    /// A new PHC string for `password`, with a fresh salt.
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let params = self.params.clone();
        let password = password.to_owned();
        self.run(move |mem| hash_phc(&params, password.as_bytes(), mem))
            .await?
    }

    /// Verifies `password` against a stored PHC string (any argon2 variant
    /// and parameters), or, when `stored` is `None`, spends the same time
    /// on a hash at the configured parameters and fails: a wrong identifier
    /// must cost what a wrong password costs.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
        let params = self.params.clone();
        let password = password.to_owned();
        let stored = stored.map(str::to_owned);
        self.run(move |mem| match stored {
            Some(stored) => verify_phc(password.as_bytes(), &stored, mem),
            None => hash_phc(&params, password.as_bytes(), mem).map(|_| false),
        })
        .await?
    }

    /// Runs `f` on a hashing thread with that thread's block buffer.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |mem| {
            // The request went away while queued (client gone, timeout).
            if !reply.is_closed() {
                let _ = reply.send(f(mem));
            }
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("password hashing threads are gone"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("password hashing thread failed"))
    }
}

/// Takes jobs until every [`PasswordHasher`] clone is dropped.
fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    // Best effort: without it hashing competes evenly with requests.
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), HASHING_NICE);
    let mut mem = Vec::new();
    loop {
        let Ok(queue) = queue.lock() else { return };
        let job = if mem.is_empty() {
            queue
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        } else {
            queue.recv_timeout(KEEP_BUFFER)
        };
        drop(queue);
        match job {
            Ok(job) => job(&mut mem),
            Err(mpsc::RecvTimeoutError::Timeout) => mem = Vec::new(),
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// The thread's buffer, allocated on first use after an idle spell (or for
/// a stored hash with a larger memory cost than any before) with room for
/// [`OWN_MAPPING_BYTES`]. argon2's first pass overwrites every block, so
/// what an earlier hash left there does not matter.
fn blocks<'a>(mem: &'a mut Vec<Block>, params: &Params) -> &'a mut [Block] {
    let n = params.block_count();
    if mem.len() < n {
        *mem = Vec::new();
        mem.reserve_exact(n.max(OWN_MAPPING_BYTES.div_ceil(size_of::<Block>())));
        mem.resize(n, Block::new());
    }
    &mut mem[..n]
}

fn hash_phc(params: &Params, password: &[u8], mem: &mut Vec<Block>) -> anyhow::Result<String> {
    let mut salt = [0u8; SALT_LEN];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| anyhow::anyhow!("system RNG failed"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut out, blocks(mem, params))
        .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(Salt::new(&salt)?),
        hash: Some(Output::new(&out)?),
    };
    Ok(phc.to_string())
}

fn verify_phc(password: &[u8], stored: &str, mem: &mut Vec<Block>) -> anyhow::Result<bool> {
    let bad = |e: &dyn std::fmt::Display| anyhow::anyhow!("bad stored hash: {e}");
    let phc = PasswordHash::new(stored).map_err(|e| bad(&e))?;
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return Err(bad(&"no salt or no hash"));
    };
    let algorithm = Algorithm::try_from(phc.algorithm.as_str()).map_err(|e| bad(&e))?;
    let version = phc
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| bad(&e))?
        .unwrap_or_default();
    let params = Params::try_from(&phc).map_err(|e| bad(&e))?;
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(password, salt, out, blocks(mem, &params))
        .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))?;
    Ok(ct_eq(out, expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher as _;

    fn small(threads: usize) -> PasswordConfig {
        PasswordConfig {
            argon2_memory_kib: 1024,
            max_concurrent_hashes: threads,
            ..PasswordConfig::default()
        }
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = PasswordHasher::new(&PasswordConfig::default()).unwrap();
        let stored = h.hash("correct horse").await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(h.verify("correct horse", Some(&stored)).await.unwrap());
        assert!(!h.verify("wrong horse", Some(&stored)).await.unwrap());
        assert!(!h.verify("oneauth: no such account", None).await.unwrap());
    }

    #[tokio::test]
    async fn verifies_hashes_made_by_the_argon2_crate_and_theirs_ours() {
        let h = PasswordHasher::new(&small(1)).unwrap();
        // Other parameters and variants than ours, as older rows may have;
        // the bigger memory cost grows the thread's buffer.
        for (alg, m) in [(Algorithm::Argon2id, 4096), (Algorithm::Argon2i, 2048)] {
            let theirs = Argon2::new(alg, Version::V0x13, Params::new(m, 3, 2, None).unwrap())
                .hash_password(b"pw one")
                .unwrap()
                .to_string();
            assert!(h.verify("pw one", Some(&theirs)).await.unwrap(), "{theirs}");
            assert!(!h.verify("pw two", Some(&theirs)).await.unwrap());
        }
        let ours = h.hash("pw one").await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            argon2::PasswordVerifier::verify_password(&Argon2::default(), b"pw one", &parsed)
                .is_ok()
        );
        assert!(h.verify("garbage", Some("not a phc string")).await.is_err());
    }

    #[tokio::test]
    async fn concurrent_hashes_on_several_threads_all_verify() {
        let h = PasswordHasher::new(&small(3)).unwrap();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..8 {
            let h = h.clone();
            set.spawn(async move { (i, h.hash(&format!("pw {i}")).await.unwrap()) });
        }
        for (i, stored) in set.join_all().await {
            assert!(h.verify(&format!("pw {i}"), Some(&stored)).await.unwrap());
        }
    }
}
