//! CPU time of the calling thread, for benchmarks that report throughput per CPU-second
//! (wall time stretches when other processes take the core; CPU time does not).

/// CPU time of the calling thread (user + system), from /proc in clock ticks (10 ms;
/// each measured variant runs for seconds in total, so that is about 1%).
pub fn thread_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command name: state is the 3rd field, utime the 14th, stime 15th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
