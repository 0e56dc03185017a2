//! The log writer: formatted lines are appended to a buffer in memory and
//! written out by a background thread every [`FLUSH_EVERY`], or at once
//! when [`FLUSH_AT`] bytes wait, and when the [`Flush`] guard drops. One
//! `write(2)` per line on the request workers was most of the cost of the
//! request log (at tens of thousands of requests per second).

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Longest a line waits in memory.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// A buffer this full is written out by the thread that filled it, which
/// also bounds memory when the output is slow.
const FLUSH_AT: usize = 256 * 1024;

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Held while writing, and while taking what to write, so lines reach
    /// the output in the order they were logged.
    out: Mutex<Box<dyn Write + Send>>,
}

#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    closed: bool,
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves a usable buffer.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn flush(&self) {
        let mut out = lock(&self.out);
        let buf = std::mem::take(&mut lock(&self.pending).buf);
        if !buf.is_empty() {
            // Nowhere to report a failed log write; the lines are lost.
            let _ = out.write_all(&buf).and_then(|()| out.flush());
        }
    }
}

/// A `MakeWriter` for tracing-subscriber's fmt layer, which formats each
/// event into one `write_all`.
#[derive(Clone)]
pub struct LogWriter(Arc<Shared>);

/// Stops the background thread and writes what is pending, when dropped.
pub struct Flush(Arc<Shared>, Option<std::thread::JoinHandle<()>>);

impl LogWriter {
    pub fn new(out: impl Write + Send + 'static) -> std::io::Result<(Self, Flush)> {
        let shared = Arc::new(Shared {
            pending: Mutex::default(),
            wake: Condvar::new(),
            out: Mutex::new(Box::new(out)),
        });
        let background = shared.clone();
        let thread = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || {
                loop {
                    let mut pending = lock(&background.pending);
                    if !pending.closed {
                        pending = background
                            .wake
                            .wait_timeout(pending, FLUSH_EVERY)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0;
                    }
                    let closed = pending.closed;
                    drop(pending);
                    background.flush();
                    if closed {
                        return;
                    }
                }
            })?;
        Ok((Self(shared.clone()), Flush(shared, Some(thread))))
    }
}

impl Write for LogWriter {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let full = {
            let mut pending = lock(&self.0.pending);
            pending.buf.extend_from_slice(line);
            pending.buf.len() >= FLUSH_AT
        };
        if full {
            self.0.flush();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        lock(&self.0.pending).closed = true;
        self.0.wake.notify_one();
        if let Some(thread) = self.1.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the test can read while the writer owns it.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_come_out_in_order_in_the_background_and_at_the_end() {
        let sink = Sink::default();
        let (mut w, flush) = LogWriter::new(sink.clone()).unwrap();
        w.write_all(b"one\n").unwrap();
        w.write_all(b"two\n").unwrap();
        // Written by the background thread, without waiting for the guard.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while lock(&sink.0).is_empty() {
            assert!(std::time::Instant::now() < deadline, "never flushed");
            std::thread::sleep(Duration::from_millis(5));
        }
        w.write_all(b"three\n").unwrap();
        drop(flush);
        assert_eq!(lock(&sink.0).as_slice(), b"one\ntwo\nthree\n");
    }

    #[test]
    fn a_full_buffer_is_written_by_the_writing_thread() {
        let sink = Sink::default();
        let (mut w, _flush) = LogWriter::new(sink.clone()).unwrap();
        let line = vec![b'x'; FLUSH_AT];
        w.write_all(&line).unwrap();
        assert_eq!(lock(&sink.0).len(), FLUSH_AT);
    }
}
