//! The media threads' scheduling priority: above the rest of the process.
//!
//! One media thread forwards a whole meeting. On a starved machine (issue 15 item 5: two
//! busy loops at nice 0 beside the server) the kernel gave that one thread 0.12 cores,
//! queues grew to seconds and video p99 reached 12.7 s, while Janus's hundreds of threads
//! together got 0.75 cores. Audio servers meet the same problem the same way: the thread
//! that must never wait asks for a higher priority. The boost is a number of nice steps
//! below the process's own (`media.priority_boost`, 10 by default); raising a priority needs
//! `CAP_SYS_NICE` (or room under `RLIMIT_NICE`), and without it the thread stays where it
//! is and says so once, at info level: nothing else depends on it.

/// The nice value a thread at `current` asks for with `boost` steps (never below -20).
pub fn boosted_nice(current: i32, boost: u32) -> i32 {
    current.saturating_sub(boost as i32).max(-20)
}

/// Raises the calling thread's priority by `boost` nice steps (at most 39); logs what it got.
pub(crate) fn boost_this_thread(name: &str, boost: u32) {
    let boost = boost.min(39);
    if boost == 0 {
        return;
    }
    // SAFETY: gettid has no preconditions; getpriority/setpriority with PRIO_PROCESS and a
    // thread id act on that one thread (Linux), here the calling one.
    let tid = unsafe { libc::gettid() } as libc::id_t;
    // getpriority can return -1 as a value: clear errno first and check it after.
    unsafe { *libc::__errno_location() = 0 };
    let current = unsafe { libc::getpriority(libc::PRIO_PROCESS, tid) };
    if current == -1 && std::io::Error::last_os_error().raw_os_error() != Some(0) {
        tracing::info!(
            thread = name,
            "media thread priority unchanged: its nice value could not be read"
        );
        return;
    }
    let target = boosted_nice(current, boost);
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, target) } == 0 {
        tracing::info!(thread = name, nice = target, "media thread priority raised");
    } else {
        tracing::info!(
            thread = name,
            nice = current,
            wanted = target,
            error = %std::io::Error::last_os_error(),
            "media thread priority unchanged (needs CAP_SYS_NICE; see deploy/README.md)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boost_counts_down_from_the_current_nice_value_and_stops_at_minus_twenty() {
        assert_eq!(boosted_nice(0, 10), -10);
        assert_eq!(boosted_nice(5, 10), -5);
        assert_eq!(boosted_nice(-15, 10), -20);
        assert_eq!(boosted_nice(0, 0), 0);
    }

    #[test]
    fn a_thread_that_may_raise_its_priority_gets_the_boost() {
        // A thread of its own, so the test runner's threads keep their priority.
        let got = std::thread::spawn(|| {
            boost_this_thread("test", 3);
            // SAFETY: as above.
            let tid = unsafe { libc::gettid() } as libc::id_t;
            unsafe { libc::getpriority(libc::PRIO_PROCESS, tid) }
        })
        .join()
        .unwrap();
        // SAFETY: as above, for this thread.
        let mine = unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
        if has_sys_nice() {
            assert_eq!(got, boosted_nice(mine, 3));
        } else {
            assert_eq!(got, mine, "without the right the priority stays");
        }
    }

    /// Whether this process holds CAP_SYS_NICE (bit 23 of the effective set).
    fn has_sys_nice() -> bool {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let eff = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
            .unwrap();
        eff & (1 << 23) != 0
    }
}
