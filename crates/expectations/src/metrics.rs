//! A Prometheus metric, read from each node's metrics endpoint (parsed with
//! prometheus-parse), must reach a value on every node of the selection.

use scenario_core::prelude::*;

/// `metric` reaches at least `min` on every node (or every node of a role).
pub struct MetricAtLeast {
    name: String,
    metric: String,
    min: f64,
    role: Option<Role>,
}

impl MetricAtLeast {
    /// Every node's `metric` (summed over its label sets) is at least `min`.
    pub fn new(metric: impl Into<String>, min: f64) -> Self {
        let metric = metric.into();
        Self {
            name: format!("metric {metric}"),
            metric,
            min,
            role: None,
        }
    }

    /// Only the nodes of `role`.
    pub fn role(mut self, role: Role) -> Self {
        self.role = Some(role);
        self
    }
}

/// The value of `metric` in Prometheus text, summed over its samples.
fn value(text: &str, metric: &str) -> Option<f64> {
    let lines = text.lines().map(|line| Ok(line.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).ok()?;
    let values: Vec<f64> = scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == metric)
        .map(|sample| match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

#[async_trait]
impl Expectation for MetricAtLeast {
    fn name(&self) -> &str {
        &self.name
    }

    fn requirements(&self) -> Requirements {
        self.role
            .clone()
            .map_or_else(Requirements::none, |role| Requirements::none().role(role))
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        let mut short = Vec::new();
        let mut lowest = f64::INFINITY;
        for slot in crate::selected(ctx, self.role.as_ref()) {
            let client = ctx.client(&slot.id).ok_or("no client")?;
            let text = client
                .metrics()
                .await
                .map_err(|e| format!("{}: {e}", slot.id))?;
            match value(&text, &self.metric) {
                Some(v) => {
                    lowest = lowest.min(v);
                    if v < self.min {
                        short.push(format!("{} has {v}", slot.id));
                    }
                }
                None => short.push(format!("{} does not report it", slot.id)),
            }
        }
        let verdict = if short.is_empty() {
            Verdict::pass(format!(
                "{} is at least {} on every node (lowest {lowest})",
                self.metric, self.min
            ))
        } else {
            Verdict::fail(format!(
                "{} is below {}: {}",
                self.metric,
                self.min,
                short.join(", ")
            ))
        };
        Ok(verdict.figure("lowest", if lowest.is_finite() { lowest } else { 0.0 }))
    }
}

#[cfg(test)]
mod tests {
    use super::value;

    #[test]
    fn counters_gauges_and_label_sets_are_read() {
        let text = "# HELP demo_node_height Height\n# TYPE demo_node_height gauge\ndemo_node_height 42\n\
                    # TYPE demo_node_txs_included counter\ndemo_node_txs_included_total 7\n\
                    requests{code=\"200\"} 3\nrequests{code=\"500\"} 1\n# EOF\n";
        assert_eq!(value(text, "demo_node_height"), Some(42.0));
        assert_eq!(value(text, "requests"), Some(4.0));
        assert_eq!(value(text, "missing"), None);
    }
}
