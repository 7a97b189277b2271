//! `cargo xtask image`: builds demo-node and its container image
//! (`testbed/demo-node:dev`) through the Docker engine's API, `FROM scratch`
//! with the binary and the libraries it links; nothing is pulled. Skips the
//! build when the image already holds the same binary.

use crate::ci::cargo;

/// Build the demo-node image from the debug binary, or the release one.
pub(crate) fn run(release: bool, tag: Option<String>) -> anyhow::Result<()> {
    let profile = if release { "release" } else { "debug" };
    let mut build = vec!["build", "-p", "demo-node"];
    if release {
        build.push("--release");
    }
    cargo(&build, &[])?;
    let binary = crate::tidy::workspace_root()
        .join("target")
        .join(profile)
        .join("demo-node");
    let tag = tag.unwrap_or_else(|| demo_node::DEFAULT_IMAGE.to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let built = runtime.block_on(async {
        let docker = deployer_compose::connect(None).await?;
        deployer_compose::image::ImageBuilder::new(&binary, &tag)
            .build(&docker)
            .await
    })?;
    println!(
        "image {}: {} from {} ({} files: {})",
        built.tag,
        if built.reused {
            "already up to date"
        } else {
            "built"
        },
        binary.display(),
        built.files.len(),
        built.files.join(", ")
    );
    Ok(())
}
