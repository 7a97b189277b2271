//! The cluster's credentials, made once and kept across `up`s (so a
//! KUBECONFIG stays valid): a CA and the apiserver's serving certificate
//! for 127.0.0.1 (openssl), the service-account key pair, a static token
//! file with one identity per component plus an admin in `system:masters`,
//! and a kubeconfig for each.

use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::api::{NODE, SERVER};
use super::{State, checked};

/// `(kubeconfig name, user, groups)`: who each client is. The component
/// identities are the ones Kubernetes' bootstrap RBAC policy grants.
const IDENTITIES: [(&str, &str, &str); 4] = [
    ("admin", "admin", "system:masters"),
    ("kubelet", "system:node:localhost", "system:nodes"),
    (
        "kube-controller-manager",
        "system:kube-controller-manager",
        "",
    ),
    ("kube-scheduler", "system:kube-scheduler", ""),
];

/// Names the serving certificate holds: 127.0.0.1 for clients here, the
/// `kubernetes` Service's names and first IP for pods.
const SERVING_NAMES: &str = "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,\
DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,\
DNS:kubernetes.default.svc.cluster.local\n\
basicConstraints=CA:FALSE\n\
keyUsage=digitalSignature,keyEncipherment\n\
extendedKeyUsage=serverAuth\n";

/// Make what is missing under `state.pki()` and write the kubeconfigs.
pub(crate) fn ensure(state: &State) -> anyhow::Result<()> {
    let pki = state.pki();
    std::fs::create_dir_all(&pki)?;
    std::fs::set_permissions(&pki, std::fs::Permissions::from_mode(0o700))?;
    let openssl = |args: &[&str]| {
        checked(
            std::process::Command::new("openssl")
                .args(args)
                .current_dir(&pki),
        )
    };
    if !pki.join("ca.crt").exists() {
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "3650",
            "-subj",
            "/CN=testbed-k8s-ca",
        ])?;
        let _ = std::fs::remove_file(pki.join("apiserver.crt"));
    }
    if !pki.join("apiserver.crt").exists() {
        std::fs::write(pki.join("apiserver.ext"), SERVING_NAMES)?;
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "apiserver.key",
            "-out",
            "apiserver.csr",
            "-subj",
            "/CN=kube-apiserver",
        ])?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            "apiserver.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-CAserial",
            "ca.srl",
            "-days",
            "3650",
            "-extfile",
            "apiserver.ext",
            "-out",
            "apiserver.crt",
        ])?;
    }
    if !pki.join("sa.key").exists() {
        openssl(&["genrsa", "-out", "sa.key", "2048"])?;
        openssl(&["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"])?;
    }
    let tokens_file = pki.join("tokens.csv");
    if !tokens_file.exists() {
        let mut csv = String::new();
        for (i, (_, user, groups)) in IDENTITIES.iter().enumerate() {
            writeln!(csv, "{},{user},{},\"{groups}\"", random_token()?, i + 1)?;
        }
        std::fs::write(&tokens_file, csv)?;
    }
    let csv = std::fs::read_to_string(&tokens_file)?;
    for (name, user, _) in IDENTITIES {
        let token = csv
            .lines()
            .find_map(|line| {
                let mut fields = line.split(',');
                let token = fields.next()?;
                (fields.next()? == user).then(|| token.to_owned())
            })
            .ok_or_else(|| anyhow::anyhow!("{} lacks {user}", tokens_file.display()))?;
        let path = if name == "admin" {
            std::fs::write(
                pki.join("admin.header"),
                format!("Authorization: Bearer {token}\n"),
            )?;
            state.kubeconfig()
        } else {
            state.component_kubeconfig(name)
        };
        write_private(&path, &kubeconfig(&pki.join("ca.crt"), user, &token))?;
    }
    Ok(())
}

fn kubeconfig(ca: &Path, user: &str, token: &str) -> String {
    format!(
        "# Written by `cargo xtask k8s up`: the single-node test cluster ({NODE}).\n\
         apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: testbed\n\
         \x20 cluster:\n\
         \x20   server: {SERVER}\n\
         \x20   certificate-authority: {}\n\
         users:\n\
         - name: {user}\n\
         \x20 user:\n\
         \x20   token: {token}\n\
         contexts:\n\
         - name: testbed\n\
         \x20 context:\n\
         \x20   cluster: testbed\n\
         \x20   user: {user}\n\
         current-context: testbed\n",
        ca.display()
    )
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// 32 hex digits from the kernel's random source.
fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    }))
}
