//! What a node keeps under `--data-dir`, so a restarted node resumes where
//! it was: `consensus.json` (term, vote, commit height; replaced atomically),
//! `chain.ndjson` (one block per line, appended; rewritten on truncation),
//! `commits.ndjson` (when each height was committed) and `blobs/<id>`.
//! Writes go to the OS without fsync: they survive a killed process, not a
//! power cut.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::block::{Block, GENESIS_HASH};

/// The consensus state that must survive a restart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HardState {
    pub(crate) term: u64,
    pub(crate) voted_for: Option<String>,
    pub(crate) commit: u64,
}

#[derive(Serialize, Deserialize)]
struct CommitLine {
    height: u64,
    at_ms: u64,
}

/// Everything loaded at start.
pub(crate) struct Loaded {
    pub(crate) hard_state: HardState,
    pub(crate) chain: Vec<Block>,
    pub(crate) commit_times: BTreeMap<u64, u64>,
}

/// The node's files.
pub(crate) struct Store {
    dir: PathBuf,
    chain: File,
    commits: File,
}

impl Store {
    /// Open (creating if needed) the data directory and load its contents.
    pub(crate) fn open(dir: &Path) -> anyhow::Result<(Self, Loaded)> {
        fs::create_dir_all(dir.join("blobs"))
            .with_context(|| format!("cannot create --data-dir {}", dir.display()))?;
        let hard_state = match fs::read_to_string(dir.join("consensus.json")) {
            Ok(text) => serde_json::from_str(&text).context("consensus.json is corrupt")?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HardState::default(),
            Err(e) => return Err(e).context("cannot read consensus.json"),
        };
        let chain = load_chain(&dir.join("chain.ndjson"))?;
        let commit_times = load_lines::<CommitLine>(&dir.join("commits.ndjson"))?
            .into_iter()
            .map(|line| (line.height, line.at_ms))
            .collect();
        let mut store = Self {
            dir: dir.to_path_buf(),
            chain: append_to(&dir.join("chain.ndjson"))?,
            commits: append_to(&dir.join("commits.ndjson"))?,
        };
        // A chain cut short by a crash mid-write is rewritten clean.
        store.rewrite_chain(&chain)?;
        Ok((
            store,
            Loaded {
                hard_state,
                chain,
                commit_times,
            },
        ))
    }

    pub(crate) fn save_hard_state(&self, state: &HardState) -> anyhow::Result<()> {
        let path = self.dir.join("consensus.json");
        let partial = self.dir.join("consensus.json.partial");
        fs::write(&partial, serde_json::to_vec(state)?).context("cannot write consensus state")?;
        fs::rename(&partial, &path).context("cannot replace consensus.json")
    }

    pub(crate) fn append_blocks(&mut self, blocks: &[Block]) -> anyhow::Result<()> {
        let mut text = Vec::new();
        for block in blocks {
            serde_json::to_writer(&mut text, block)?;
            text.push(b'\n');
        }
        self.chain
            .write_all(&text)
            .context("cannot append to chain.ndjson")
    }

    /// Replace the stored chain with `chain` (after a truncation).
    pub(crate) fn rewrite_chain(&mut self, chain: &[Block]) -> anyhow::Result<()> {
        let path = self.dir.join("chain.ndjson");
        let partial = self.dir.join("chain.ndjson.partial");
        let mut text = Vec::new();
        for block in chain {
            serde_json::to_writer(&mut text, block)?;
            text.push(b'\n');
        }
        fs::write(&partial, text).context("cannot write chain.ndjson")?;
        fs::rename(&partial, &path).context("cannot replace chain.ndjson")?;
        // The append handle still points at the replaced file.
        self.chain = append_to(&path)?;
        Ok(())
    }

    pub(crate) fn record_commits(&mut self, commits: &[(u64, u64)]) -> anyhow::Result<()> {
        let mut text = Vec::new();
        for &(height, at_ms) in commits {
            serde_json::to_writer(&mut text, &CommitLine { height, at_ms })?;
            text.push(b'\n');
        }
        self.commits
            .write_all(&text)
            .context("cannot append to commits.ndjson")
    }

    pub(crate) fn blob_path(&self, id: &str) -> PathBuf {
        self.dir.join("blobs").join(id)
    }

    /// Store a blob's bytes under its id.
    pub(crate) fn put_blob(&self, id: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.blob_path(id);
        let partial = path.with_extension("partial");
        fs::write(&partial, bytes).context("cannot write blob")?;
        fs::rename(&partial, &path).context("cannot store blob")
    }

    /// Delete a blob's bytes (`--misbehave lose-blobs-after` only).
    pub(crate) fn delete_blob(&self, id: &str) -> anyhow::Result<()> {
        match fs::remove_file(self.blob_path(id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).context("cannot delete blob")
            }
            _ => Ok(()),
        }
    }

    /// The ids of the blobs stored here.
    pub(crate) fn blob_ids(&self) -> Vec<String> {
        let Ok(entries) = fs::read_dir(self.dir.join("blobs")) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| name.len() == 64 && name.chars().all(|c| c.is_ascii_hexdigit()))
            .collect()
    }
}

fn append_to(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// Lines of JSON, stopping quietly at a torn last line.
fn load_lines<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<Vec<T>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut items = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line?;
        match serde_json::from_str(&line) {
            Ok(item) => items.push(item),
            Err(_) => break,
        }
    }
    Ok(items)
}

/// The stored chain, up to the first block that does not hash or link right.
fn load_chain(path: &Path) -> anyhow::Result<Vec<Block>> {
    let mut chain: Vec<Block> = Vec::new();
    for block in load_lines::<Block>(path)? {
        let parent = chain.last().map_or(GENESIS_HASH, |b| b.hash.as_str());
        if block.height != chain.len() as u64 + 1
            || block.parent != parent
            || block.hash != block.computed_hash()
        {
            tracing::warn!(
                height = block.height,
                "stored chain ends at a damaged block; dropping the rest"
            );
            break;
        }
        chain.push(block);
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(height: u64, parent: &str) -> Block {
        Block::new(
            height,
            parent.to_owned(),
            1,
            "validator-0".to_owned(),
            0,
            vec![],
            vec![],
        )
    }

    #[test]
    fn state_chain_and_commits_survive_reopening_and_a_torn_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, loaded) = Store::open(dir.path()).unwrap();
        assert!(loaded.chain.is_empty());
        let one = block(1, GENESIS_HASH);
        let two = block(2, &one.hash);
        store.append_blocks(&[one.clone(), two.clone()]).unwrap();
        store.record_commits(&[(1, 111)]).unwrap();
        let state = HardState {
            term: 3,
            voted_for: Some("validator-1".to_owned()),
            commit: 1,
        };
        store.save_hard_state(&state).unwrap();
        drop(store);
        let mut torn = OpenOptions::new()
            .append(true)
            .open(dir.path().join("chain.ndjson"))
            .unwrap();
        torn.write_all(b"{\"height\":3,\"ha").unwrap();

        let (_, loaded) = Store::open(dir.path()).unwrap();
        assert_eq!(loaded.hard_state, state);
        assert_eq!(loaded.chain, [one, two]);
        assert_eq!(loaded.commit_times[&1], 111);
    }
}
