//! A progress bar on stderr while a scenario runs: how far through the run
//! it is and the rate of whatever it counts. Drawn only when stderr is a
//! terminal, so scripts and result files see nothing of it.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const WIDTH: usize = 30;

/// What the bar measures progress against.
#[derive(Clone, Copy)]
pub enum Goal {
    /// A measured window of time (after a warm-up).
    Window {
        /// When measuring starts.
        start: Instant,
        /// When it ends.
        end: Instant,
    },
    /// A number of things to do (sockets to open).
    Count(u64),
}

/// A running bar; stops (and ends its line) when dropped.
pub struct Progress {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Draws `label`, the bar and `counter`'s rate (in `unit`s per second)
    /// four times a second until dropped.
    pub fn start(label: &str, goal: Goal, counter: Arc<AtomicU64>, unit: &'static str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { task: None };
        }
        let label = label.to_owned();
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(250));
            let (mut last_n, mut last_t) = (counter.load(Ordering::Relaxed), Instant::now());
            loop {
                ticker.tick().await;
                let n = counter.load(Ordering::Relaxed);
                let now = Instant::now();
                let rate =
                    (n - last_n.min(n)) as f64 / now.duration_since(last_t).as_secs_f64().max(1e-3);
                (last_n, last_t) = (n, now);
                let (done, status) = match goal {
                    Goal::Window { start, .. } if now < start => (0.0, "warming up".to_owned()),
                    Goal::Window { end, .. } if now >= end => {
                        (1.0, "done; collecting late arrivals".to_owned())
                    }
                    Goal::Window { start, end } => {
                        let total = end.duration_since(start).as_secs_f64();
                        let gone = now.duration_since(start).as_secs_f64().min(total);
                        (gone / total, format!("{gone:.0}/{total:.0} s"))
                    }
                    Goal::Count(total) => (n as f64 / total.max(1) as f64, format!("{n}/{total}")),
                };
                let filled = ((done.clamp(0.0, 1.0)) * WIDTH as f64) as usize;
                let mut err = std::io::stderr().lock();
                let _ = write!(
                    err,
                    "\r{label} [{}{}] {status}  {rate:>9.0} {unit}/s ",
                    "#".repeat(filled),
                    ".".repeat(WIDTH - filled),
                );
                let _ = err.flush();
            }
        });
        Progress { task: Some(task) }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            eprintln!();
        }
    }
}
