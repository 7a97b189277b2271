//! Data availability: a blob's id is its Merkle commitment (see
//! `node_http::merkle`), it is stored on `--replication` executors chosen by
//! rendezvous hashing, and any holder answers samples with a proof.

use node_http::merkle::{self, Tree};
use node_http::wire::SampleBody;
use sha2::{Digest, Sha256};

/// A blob's id (its commitment, hex) and its chunk count.
pub(crate) fn commitment(bytes: &[u8], chunk_size: usize) -> (String, u32) {
    let chunks = merkle::chunks(bytes, chunk_size);
    let tree = Tree::new(&chunks);
    (
        hex::encode(tree.root()),
        u32::try_from(chunks.len()).unwrap_or(u32::MAX),
    )
}

/// The executors that store `blob_id`: the `replication` ones ranking
/// highest by hash of (blob, executor). Every node computes the same set.
pub(crate) fn holders(blob_id: &str, executors: &[String], replication: usize) -> Vec<String> {
    let mut ranked: Vec<(Vec<u8>, &String)> = executors
        .iter()
        .map(|e| (Sha256::digest(format!("{blob_id}:{e}")).to_vec(), e))
        .collect();
    ranked.sort();
    ranked
        .into_iter()
        .take(replication)
        .map(|(_, e)| e.clone())
        .collect()
}

/// Chunk `index` of a stored blob, with its proof.
pub(crate) fn sample(
    blob_id: &str,
    bytes: &[u8],
    chunk_size: usize,
    index: u32,
) -> Option<SampleBody> {
    let chunks = merkle::chunks(bytes, chunk_size);
    let position = usize::try_from(index).ok()?;
    let chunk = chunks.get(position)?;
    let tree = Tree::new(&chunks);
    let proof = tree.proof(position)?;
    Some(SampleBody {
        blob_id: blob_id.to_owned(),
        index,
        chunk_count: u32::try_from(chunks.len()).unwrap_or(u32::MAX),
        chunk: hex::encode(chunk),
        proof: proof.iter().map(hex::encode).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_are_stable_and_bounded() {
        let executors: Vec<String> = (0..5).map(|i| format!("executor-{i}")).collect();
        let a = holders("ab", &executors, 2);
        assert_eq!(a.len(), 2);
        assert_eq!(a, holders("ab", &executors, 2));
        assert_eq!(holders("ab", &executors[..1], 2).len(), 1);
    }

    #[test]
    fn samples_verify_against_the_commitment() {
        let bytes: Vec<u8> = (0..5000u32).map(|i| (i % 256) as u8).collect();
        let (id, count) = commitment(&bytes, 1024);
        assert_eq!(count, 5);
        let sample = sample(&id, &bytes, 1024, 4).unwrap();
        let proof: Vec<_> = sample
            .proof
            .iter()
            .map(|p| merkle::parse_hash(p).unwrap())
            .collect();
        let root = merkle::parse_hash(&id).unwrap();
        assert!(merkle::verify(
            &root,
            &hex::decode(&sample.chunk).unwrap(),
            4,
            5,
            &proof
        ));
        assert!(super::sample(&id, &bytes, 1024, 5).is_none());
    }
}
