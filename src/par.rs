//! An order-preserving parallel map over a slice on scoped threads: what the index (parsing every
//! note), `check`, `match` and the sync's write-back share. Without a dependency; a panic in a
//! worker is passed on, never turned into missing results.

/// Maps `f` over `items` on up to `max_threads` threads (never more than the machine's cores
/// when `max_threads` is 0), in chunks of at least `min_chunk` items; results in input order.
pub fn map<'a, T, R, F>(items: &'a [T], max_threads: usize, min_chunk: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&'a T) -> R + Sync,
{
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = if max_threads == 0 {
        cores.min(8)
    } else {
        max_threads
    }
    .max(1);
    let chunk = items.len().div_ceil(threads).max(min_chunk.max(1));
    if threads == 1 || items.len() <= chunk {
        return items.iter().map(&f).collect();
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let v: Vec<u32> = (0..1000).collect();
        assert_eq!(
            super::map(&v, 4, 10, |x| x * 2),
            v.iter().map(|x| x * 2).collect::<Vec<_>>()
        );
        assert_eq!(super::map(&v[..3], 0, 64, |x| *x), vec![0, 1, 2]);
        assert!(super::map::<u32, u32, _>(&[], 0, 1, |x| *x).is_empty());
    }
}
