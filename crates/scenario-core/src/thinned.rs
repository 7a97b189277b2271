//! A series of points that stays small however long a run lasts: it keeps
//! every point until it holds its capacity, then every other one, then every
//! fourth, and so on, always with the latest point. Plots of an hour then
//! cost what plots of ten minutes cost; the artifacts keep every point.

/// Points in the order they came, thinned to at most about `capacity`.
#[derive(Clone, Debug)]
pub struct Thinned<P> {
    kept: Vec<P>,
    latest: Option<P>,
    capacity: usize,
    stride: u64,
    seen: u64,
}

impl<P: Copy> Thinned<P> {
    /// An empty series keeping at most `capacity` points (at least 2).
    pub fn new(capacity: usize) -> Self {
        Self {
            kept: Vec::new(),
            latest: None,
            capacity: capacity.max(2),
            stride: 1,
            seen: 0,
        }
    }

    /// Add the next point.
    pub fn push(&mut self, point: P) {
        if self.seen.is_multiple_of(self.stride) {
            if self.kept.len() == self.capacity {
                // Keep the points at even positions: every `2 × stride`-th.
                let mut index = 0;
                self.kept.retain(|_| {
                    index += 1;
                    index % 2 == 1
                });
                self.stride *= 2;
            }
            if self.seen.is_multiple_of(self.stride) {
                self.kept.push(point);
            }
        }
        self.seen += 1;
        self.latest = Some(point);
    }

    /// How many points were pushed, kept or not.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The kept points, ending with the latest one pushed.
    pub fn points(&self) -> Vec<P> {
        let mut points = self.kept.clone();
        let latest_is_kept = self.seen > 0 && (self.seen - 1).is_multiple_of(self.stride);
        if let Some(latest) = self.latest
            && !latest_is_kept
        {
            points.push(latest);
        }
        points
    }
}

#[cfg(test)]
mod tests {
    use super::Thinned;

    #[test]
    fn keeps_everything_below_capacity_and_evenly_spaced_points_beyond() {
        let mut series = Thinned::new(8);
        for n in 0..5u64 {
            series.push(n);
        }
        assert_eq!(series.points(), vec![0, 1, 2, 3, 4]);
        for n in 5..100u64 {
            series.push(n);
        }
        let points = series.points();
        assert!(points.len() <= 9, "{points:?}");
        assert_eq!(points.first(), Some(&0));
        assert_eq!(points.last(), Some(&99));
        let gaps: Vec<u64> = points[..points.len() - 1]
            .windows(2)
            .map(|w| w[1] - w[0])
            .collect();
        assert!(gaps.iter().all(|gap| *gap == gaps[0]), "{points:?}");
        assert_eq!(series.seen(), 100);
    }

    #[test]
    fn a_million_points_stay_within_capacity() {
        let mut series = Thinned::new(1000);
        for n in 0..1_000_000u64 {
            series.push(n);
        }
        assert!(series.points().len() <= 1001);
        assert_eq!(series.points().last(), Some(&999_999));
    }
}
