//! Node logs must, or must not, contain a text. Logs are read where every
//! deployer puts them (`RunContext::node_log`), per node or per role.

use scenario_core::prelude::*;

/// A text that must appear in (or be absent from) node logs.
pub struct LogLines {
    name: String,
    text: String,
    must_appear: bool,
    role: Option<Role>,
}

impl LogLines {
    /// Every selected node's log contains `text`.
    pub fn must_contain(text: impl Into<String>) -> Self {
        let text = text.into();
        Self {
            name: format!("logs contain {text:?}"),
            text,
            must_appear: true,
            role: None,
        }
    }

    /// No selected node's log contains `text` (e.g. `"panicked"`).
    pub fn must_not_contain(text: impl Into<String>) -> Self {
        let text = text.into();
        Self {
            name: format!("logs lack {text:?}"),
            text,
            must_appear: false,
            role: None,
        }
    }

    /// Only the nodes of `role`.
    pub fn role(mut self, role: Role) -> Self {
        self.role = Some(role);
        self
    }
}

#[async_trait]
impl Expectation for LogLines {
    fn name(&self) -> &str {
        &self.name
    }

    fn requirements(&self) -> Requirements {
        self.role
            .clone()
            .map_or_else(Requirements::none, |role| Requirements::none().role(role))
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        let mut culprits = Vec::new();
        for slot in crate::selected(ctx, self.role.as_ref()) {
            let path = ctx.node_log(&slot.id);
            let log = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let found = log.lines().find(|line| line.contains(&self.text));
            match (self.must_appear, found) {
                (true, None) => culprits.push(format!("{} never logged it", slot.id)),
                (false, Some(line)) => {
                    culprits.push(format!("{} logged: {}", slot.id, line.trim()))
                }
                _ => {}
            }
        }
        let wanted = if self.must_appear {
            "in"
        } else {
            "absent from"
        };
        Ok(if culprits.is_empty() {
            Verdict::pass(format!(
                "{:?} is {wanted} every selected node's log",
                self.text
            ))
        } else {
            Verdict::fail(format!(
                "{:?} should be {wanted} every log: {}",
                self.text,
                culprits.join("; ")
            ))
        })
    }
}
