//! Packets held for later ([`Verdict::ForwardAt`](crate::engine::Verdict)),
//! released earliest first, in arrival order among equal times: what the
//! runner's switch and the Kubernetes fault agent both keep.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Instant;

struct Held<T> {
    at: Instant,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Held<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<T> Eq for Held<T> {}
impl<T> PartialOrd for Held<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Held<T> {
    // Reversed: the earliest release is the heap's top.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Items waiting for their release time.
pub struct ReleaseQueue<T> {
    heap: BinaryHeap<Held<T>>,
    seq: u64,
}

impl<T> Default for ReleaseQueue<T> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<T> ReleaseQueue<T> {
    /// Hold `item` until `at`.
    pub fn push(&mut self, at: Instant, item: T) {
        self.seq += 1;
        self.heap.push(Held {
            at,
            seq: self.seq,
            item,
        });
    }

    /// When the next item is due, if any is held.
    pub fn next_at(&self) -> Option<Instant> {
        self.heap.peek().map(|held| held.at)
    }

    /// The next item due at `now`, if any.
    pub fn pop_due(&mut self, now: Instant) -> Option<T> {
        if self.heap.peek().is_some_and(|held| held.at <= now) {
            self.heap.pop().map(|held| held.item)
        } else {
            None
        }
    }
}

/// Hold what arrives on `queue` as `(release time, item)` and hand each
/// item to `deliver` at its time, earliest first; returns once the queue
/// is closed and nothing is held.
pub async fn release<T, F, Fut>(
    mut queue: tokio::sync::mpsc::UnboundedReceiver<(Instant, T)>,
    mut deliver: F,
) where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut waiting = ReleaseQueue::default();
    let mut open = true;
    while open || waiting.next_at().is_some() {
        let next = waiting.next_at();
        let due = async {
            match next {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = due => {
                let now = Instant::now();
                while let Some(item) = waiting.pop_due(now) {
                    deliver(item).await;
                }
            }
            received = queue.recv(), if open => match received {
                Some((at, item)) => waiting.push(at, item),
                None => open = false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn items_come_out_earliest_first_and_in_arrival_order_among_equals() {
        let now = Instant::now();
        let mut queue = ReleaseQueue::default();
        queue.push(now + Duration::from_millis(20), "late");
        queue.push(now + Duration::from_millis(10), "first");
        queue.push(now + Duration::from_millis(10), "second");
        assert_eq!(queue.next_at(), Some(now + Duration::from_millis(10)));
        assert_eq!(queue.pop_due(now), None, "nothing is due yet");
        let later = now + Duration::from_millis(15);
        assert_eq!(queue.pop_due(later), Some("first"));
        assert_eq!(queue.pop_due(later), Some("second"));
        assert_eq!(queue.pop_due(later), None);
        assert_eq!(queue.pop_due(now + Duration::from_millis(20)), Some("late"));
    }
}
