//! The DA commitment: a blob is cut into fixed-size chunks, each chunk is
//! hashed (SHA-256) into a leaf, and the commitment is the root of a binary
//! Merkle tree over the leaves. A sample carries one chunk and the sibling
//! hashes from its leaf to the root, which [`verify`] checks.
//!
//! Leaves are `sha256(0x00 || chunk)` and inner nodes `sha256(0x01 || left ||
//! right)` (domain separation, so a leaf cannot pose as an inner node). On a
//! level with an odd number of nodes, the last node is carried up unchanged.

use sha2::{Digest, Sha256};

/// A 32-byte SHA-256 digest.
pub type Hash = [u8; 32];

fn leaf(chunk: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(chunk);
    hasher.finalize().into()
}

fn inner(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The chunks of `data`, `chunk_size` bytes each (the last may be shorter).
/// Empty data has one empty chunk.
pub fn chunks(data: &[u8], chunk_size: usize) -> Vec<&[u8]> {
    if data.is_empty() {
        return vec![data];
    }
    data.chunks(chunk_size.max(1)).collect()
}

/// A Merkle tree over a blob's chunks.
#[derive(Clone, Debug)]
pub struct Tree {
    /// `levels[0]` are the leaves, the last level is the root alone.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// The tree over these chunks.
    pub fn new<C: AsRef<[u8]>>(chunks: &[C]) -> Self {
        let mut levels = vec![chunks.iter().map(|c| leaf(c.as_ref())).collect::<Vec<_>>()];
        if levels[0].is_empty() {
            levels[0].push(leaf(&[]));
        }
        while levels.last().is_some_and(|level| level.len() > 1) {
            let below = levels.last().map(Vec::as_slice).unwrap_or_default();
            let above = below
                .chunks(2)
                .map(|pair| match pair {
                    [left, right] => inner(left, right),
                    [single] => *single,
                    _ => unreachable!("chunks(2) yields one or two items"),
                })
                .collect();
            levels.push(above);
        }
        Self { levels }
    }

    /// The commitment.
    pub fn root(&self) -> Hash {
        self.levels
            .last()
            .and_then(|level| level.first())
            .copied()
            .unwrap_or_default()
    }

    /// The number of leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether the tree has no leaf (never: empty data has one empty chunk).
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The sibling hashes from leaf `index` up to the root; `None` when out of range.
    pub fn proof(&self, index: usize) -> Option<Vec<Hash>> {
        if index >= self.len() {
            return None;
        }
        let mut proof = Vec::new();
        let mut position = index;
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = position ^ 1;
            if let Some(hash) = level.get(sibling) {
                proof.push(*hash);
            }
            position /= 2;
        }
        Some(proof)
    }
}

/// Whether `chunk` is leaf `index` of `leaf_count` leaves under `root`.
pub fn verify(root: &Hash, chunk: &[u8], index: usize, leaf_count: usize, proof: &[Hash]) -> bool {
    if index >= leaf_count {
        return false;
    }
    let mut hash = leaf(chunk);
    let mut position = index;
    let mut width = leaf_count;
    let mut siblings = proof.iter();
    while width > 1 {
        let sibling = position ^ 1;
        if sibling < width {
            let Some(next) = siblings.next() else {
                return false;
            };
            hash = if position.is_multiple_of(2) {
                inner(&hash, next)
            } else {
                inner(next, &hash)
            };
        }
        position /= 2;
        width = width.div_ceil(2);
    }
    siblings.next().is_none() && &hash == root
}

/// Parse a hex digest.
pub fn parse_hash(text: &str) -> Option<Hash> {
    let bytes = hex::decode(text).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunk_of_every_size_verifies_and_tampering_does_not() {
        for size in [0usize, 1, 5, 31, 32, 33, 100, 257] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            let pieces = chunks(&data, 32);
            let tree = Tree::new(&pieces);
            let root = tree.root();
            for (index, chunk) in pieces.iter().enumerate() {
                let proof = tree.proof(index).unwrap();
                assert!(
                    verify(&root, chunk, index, pieces.len(), &proof),
                    "size {size} index {index}"
                );
                let mut wrong = chunk.to_vec();
                wrong.push(1);
                assert!(!verify(&root, &wrong, index, pieces.len(), &proof));
                if pieces.len() > 1 {
                    let other = (index + 1) % pieces.len();
                    assert!(
                        !verify(&root, chunk, other, pieces.len(), &proof)
                            || pieces[other] == *chunk
                    );
                }
            }
            assert!(tree.proof(pieces.len()).is_none());
        }
    }

    #[test]
    fn a_proof_with_a_missing_or_extra_sibling_fails() {
        let data = [7u8; 100];
        let pieces = chunks(&data, 10);
        let tree = Tree::new(&pieces);
        let mut proof = tree.proof(3).unwrap();
        proof.push([0; 32]);
        assert!(!verify(&tree.root(), pieces[3], 3, pieces.len(), &proof));
        proof.truncate(1);
        assert!(!verify(&tree.root(), pieces[3], 3, pieces.len(), &proof));
    }
}
