//! [`DirPolicies`]: where the files of a directory go (backend route and device bound), learned
//! from a file opened there. A whole-file read opens its file inside the kernel, so its device
//! is unknown until it is done; the directory's policy routes and bounds it beforehand.

use crate::driver::core::Route;
use crate::driver::gate::Gate;
use crate::op::FileHandle;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a learned policy is trusted: a directory can become a mount point.
const TRUSTED_FOR: Duration = Duration::from_secs(10);
/// Directories remembered at most (all are forgotten when full).
const MAX_DIRS: usize = 4096;

/// Where the files of a directory go.
#[derive(Clone)]
pub(crate) struct DirPolicy {
    pub(crate) route: Route,
    pub(crate) gate: Option<Arc<Gate>>,
}

#[derive(Default)]
pub(crate) struct DirPolicies {
    map: Mutex<HashMap<PathBuf, (DirPolicy, Instant)>>,
}

impl DirPolicies {
    /// The policy of `path`'s directory, if learned recently. Relative paths have none (the
    /// current directory can change).
    pub(crate) fn lookup(&self, path: &Path) -> Option<DirPolicy> {
        let dir = dir_of(path)?;
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let (policy, learned) = map.get(dir)?;
        (learned.elapsed() < TRUSTED_FOR).then(|| policy.clone())
    }

    /// Remembers that files in `path`'s directory go where `file` goes.
    pub(crate) fn learn(&self, path: &Path, file: &FileHandle) {
        let Some(dir) = dir_of(path) else { return };
        let policy = DirPolicy {
            route: file.route(),
            gate: file.gate().cloned(),
        };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_DIRS && !map.contains_key(dir) {
            map.clear();
        }
        map.insert(dir.to_path_buf(), (policy, Instant::now()));
    }
}

fn dir_of(path: &Path) -> Option<&Path> {
    path.is_absolute().then(|| path.parent()).flatten()
}
