//! Pulling from the local disk: a `.gguf` file, or a whole model folder. Always a copy, so later
//! edits or deletion of the source never change the store.

use std::path::{Path, PathBuf};

use crate::copy::{byte_bar, copy_hashed};
use crate::error::{IoContext, Result, StoreError};
use crate::layout::{detect, has_gguf_magic, list_files, rel_to_path};
use crate::stage::Staging;

pub(crate) fn bad_source(path: &Path) -> impl Fn(String) -> StoreError + '_ {
    move |reason| StoreError::BadSource {
        path: path.to_path_buf(),
        reason,
    }
}

/// The source made absolute; a missing path is a clear error.
pub(crate) fn absolute(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| StoreError::BadSource {
        path: path.to_path_buf(),
        reason: if e.kind() == std::io::ErrorKind::NotFound {
            "no such file or folder".into()
        } else {
            e.to_string()
        },
    })
}

/// Copy `src` into the staging folder; returns the source as recorded in the manifest.
pub(crate) fn stage(src: &Path, staging: &mut Staging, quiet: bool) -> Result<String> {
    let abs = absolute(src)?;
    let bad = bad_source(&abs);
    if abs.is_file() {
        stage_file(&abs, staging, quiet, &bad)?;
    } else {
        stage_folder(&abs, staging, quiet, &bad)?;
    }
    Ok(abs.display().to_string())
}

fn stage_file(
    abs: &Path,
    staging: &mut Staging,
    quiet: bool,
    bad: &impl Fn(String) -> StoreError,
) -> Result<()> {
    if !has_gguf_magic(abs)? {
        return Err(bad(
            "not a GGUF file; a single file must be .gguf (for safetensors, pull the folder with config.json)".into(),
        ));
    }
    let file_name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| bad("the path has no file name".into()))?;
    let size = std::fs::metadata(abs)
        .ctx(|| format!("reading {}", abs.display()))?
        .len();
    let bar = byte_bar(size, &format!("copying {file_name}"), quiet);
    let hashed = copy_hashed(abs, &staging.path_of(&file_name), &bar)?;
    bar.finish_and_clear();
    staging.record(&file_name, hashed);
    Ok(())
}

fn stage_folder(
    abs: &Path,
    staging: &mut Staging,
    quiet: bool,
    bad: &impl Fn(String) -> StoreError,
) -> Result<()> {
    let files = list_files(abs)?;
    // Fail before copying gigabytes if the folder is not a model.
    detect(&files).map_err(bad)?;
    let mut total = 0u64;
    for rel in &files {
        let p = rel_to_path(abs, rel);
        total += std::fs::metadata(&p)
            .ctx(|| format!("reading {}", p.display()))?
            .len();
    }
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bar = byte_bar(total, &format!("copying {name}"), quiet);
    for rel in &files {
        let dst = staging.path_of(rel);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).ctx(|| format!("creating {}", parent.display()))?;
        }
        let hashed = copy_hashed(&rel_to_path(abs, rel), &dst, &bar)?;
        staging.record(rel, hashed);
    }
    bar.finish_and_clear();
    Ok(())
}
