//! The NDJSON block subscription of [`NodeHttpClient`](super::NodeHttpClient):
//! a response body read line by line into a stream of blocks.

use futures::StreamExt;
use http_body_util::BodyDataStream;
use hyper::body::Incoming;
use scenario_core::client::BlockStream;
use scenario_core::{Block, ClientError, NodeId};

use super::answer::{Cause, chain, snippet};
use super::block_from_wire;
use crate::wire;

/// The blocks of an NDJSON subscription body, one per line. Blank lines are
/// skipped; a line that is not a block yields a protocol error and the
/// stream goes on; a broken connection yields one error and ends the stream;
/// the node closing the body ends it.
pub(super) fn ndjson_blocks(node: NodeId, what: String, body: Incoming) -> BlockStream {
    let lines = Lines {
        node,
        what,
        body: BodyDataStream::new(body),
        buffer: Vec::new(),
        scanned: 0,
        finished: false,
    };
    futures::stream::unfold(lines, |mut lines| async move {
        let item = lines.next_block().await?;
        Some((item, lines))
    })
    .boxed()
}

/// The state of an NDJSON subscription.
struct Lines {
    node: NodeId,
    what: String,
    body: BodyDataStream<Incoming>,
    buffer: Vec<u8>,
    /// How much of `buffer` is known to hold no newline.
    scanned: usize,
    finished: bool,
}

impl Lines {
    async fn next_block(&mut self) -> Option<Result<Block, ClientError>> {
        loop {
            if let Some(line) = self.next_line() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Some(self.parse(&line));
            }
            if self.finished {
                return None;
            }
            match self.body.next().await {
                Some(Ok(bytes)) => self.buffer.extend_from_slice(&bytes),
                Some(Err(error)) => {
                    self.finished = true;
                    self.buffer.clear();
                    return Some(Err(ClientError::Unavailable {
                        node: self.node.clone(),
                        source: Box::new(Cause(format!(
                            "{}: the subscription broke: {}",
                            self.what,
                            chain(&error)
                        ))),
                    }));
                }
                None => self.finished = true,
            }
        }
    }

    /// The next complete line; at the end of the body, what is left.
    fn next_line(&mut self) -> Option<Vec<u8>> {
        let newline = self.buffer[self.scanned..]
            .iter()
            .position(|&byte| byte == b'\n')
            .map(|offset| self.scanned + offset);
        match newline {
            Some(end) => {
                let line = self.buffer.drain(..=end).collect();
                self.scanned = 0;
                Some(line)
            }
            None if self.finished && !self.buffer.is_empty() => {
                self.scanned = 0;
                Some(std::mem::take(&mut self.buffer))
            }
            None => {
                self.scanned = self.buffer.len();
                None
            }
        }
    }

    fn parse(&self, line: &[u8]) -> Result<Block, ClientError> {
        serde_json::from_slice::<wire::BlockBody>(line)
            .map(block_from_wire)
            .map_err(|error| ClientError::Protocol {
                node: self.node.clone(),
                detail: format!(
                    "{} sent a line that is not a block ({error}): {}",
                    self.what,
                    snippet(line)
                ),
            })
    }
}
