//! HTTPS/WSS served directly with rustls, from PEM certificate and key files.
//!
//! [`CertStore`] is the server's certificate resolver: it holds the current certificate in an
//! `Arc` and [`CertStore::reload`] swaps in a freshly read one (the binary calls it on SIGHUP,
//! e.g. after certbot renewed the files). Handshakes in flight keep the certificate they
//! started with; a reload that fails keeps the old certificate and says why.
//!
//! [`TlsListener`] adapts a `TcpListener` to axum's `Listener`: handshakes run on their own
//! tasks (a slow or silent client never holds up the others) and finished streams are handed
//! to the server in order of completion.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a certificate or key could not be used. [`TlsError::key`] names the config key.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file could not be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// `tls_cert` or `tls_key`.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The certificate file holds no PEM certificate.
    #[error("{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no usable PEM private key.
    #[error("{path} holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {message}")]
    NoKey {
        /// The file.
        path: PathBuf,
        /// The parser's reason.
        message: String,
    },
    /// The key is of a kind rustls cannot sign with, or does not belong to the certificate.
    #[error("{path}: {message}")]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl TlsError {
    /// The config key the error is about.
    pub fn key(&self) -> &'static str {
        match self {
            TlsError::Read { key, .. } => key,
            TlsError::NoCertificate { .. } => "tls_cert",
            TlsError::NoKey { .. } | TlsError::BadKey { .. } => "tls_key",
        }
    }
}

/// Reads a certificate chain and its private key.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let read = |k: &'static str, p: &Path| {
        std::fs::read(p).map_err(|error| TlsError::Read {
            key: k,
            path: p.to_owned(),
            error,
        })
    };
    let cert_pem = read("tls_cert", cert)?;
    let key_pem = read("tls_key", key)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.to_owned(),
        });
    }
    let der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::NoKey {
        path: key.to_owned(),
        message: e.to_string(),
    })?;
    let signer = rustls::crypto::aws_lc_rs::sign::any_supported_type(&der).map_err(|e| {
        TlsError::BadKey {
            path: key.to_owned(),
            message: format!("unsupported private key: {e}"),
        }
    })?;
    let certified = CertifiedKey::new(chain, signer);
    certified.keys_match().map_err(|e| TlsError::BadKey {
        path: key.to_owned(),
        message: format!(
            "the key does not belong to the certificate in {}: {e}",
            cert.display()
        ),
    })?;
    Ok(certified)
}

/// The server's certificate, replaceable while serving.
pub struct CertStore {
    cert: PathBuf,
    key: PathBuf,
    /// std `RwLock`: read once per handshake, written on reload, never held across `.await`.
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for CertStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertStore")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl CertStore {
    /// Reads the files once.
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<Self>, TlsError> {
        let current = load_certified_key(cert, key)?;
        Ok(Arc::new(CertStore {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(Arc::new(current)),
        }))
    }

    /// Reads the files again and serves the new certificate from the next handshake on. On
    /// error the current certificate stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = Arc::new(load_certified_key(&self.cert, &self.key)?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    /// A rustls server configuration resolving through this store (HTTP/1.1, which carries the
    /// WebSocket upgrade).
    pub fn server_config(self: &Arc<Self>) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the aws-lc-rs provider supports the default protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

/// A TCP listener whose connections are TLS streams, for `axum::serve`.
pub struct TlsListener {
    streams: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener`; the accept task ends when this is dropped.
    pub fn new(listener: TcpListener, store: &Arc<CertStore>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(store.server_config());
        let (tx, streams) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = tx.closed() => break,
                };
                let (mut tcp, addr) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                // As on plain HTTP (`crate::no_delay`): bursts of small messages.
                crate::set_no_delay(&mut tcp);
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, addr)).await;
                        }
                        Ok(Err(e)) => debug!("TLS handshake failed: {e}"),
                        Err(_) => debug!("TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { streams, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.streams.recv().await {
            Some(s) => s,
            // The accept task only stops when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
