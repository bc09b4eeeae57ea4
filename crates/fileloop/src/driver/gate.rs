//! [`Gate`]: a per-device bound on operations in flight, with priorities. An operation that
//! finds its device's gate full waits in the gate's queue (interactive before bulk) and is
//! submitted when an operation on the same device completes.

use super::cell::Inflight;
use super::core::{Core, Route};
use crate::device::DeviceClass;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// The priority of an operation waiting for its device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// Background work (copies, scans): waits behind interactive work for the same device.
    Bulk,
    /// The default: someone is waiting for this.
    #[default]
    Interactive,
}

struct Waiting {
    core: Arc<Core>,
    cell: Arc<dyn Inflight>,
    route: Route,
}

struct State {
    in_flight: usize,
    interactive: VecDeque<Waiting>,
    bulk: VecDeque<Waiting>,
}

/// The bound for one device.
pub(crate) struct Gate {
    limit: usize,
    state: Mutex<State>,
}

impl Gate {
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    pub(crate) fn new(limit: usize) -> Arc<Gate> {
        Arc::new(Gate {
            limit: limit.max(1),
            state: Mutex::new(State {
                in_flight: 0,
                interactive: VecDeque::new(),
                bulk: VecDeque::new(),
            }),
        })
    }

    /// Takes a slot, or queues the submission for later and returns false.
    pub(crate) fn admit(
        &self,
        core: &Arc<Core>,
        cell: &Arc<dyn Inflight>,
        route: Route,
        priority: Priority,
    ) -> bool {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.in_flight < self.limit {
            st.in_flight += 1;
            return true;
        }
        let waiting = Waiting {
            core: core.clone(),
            cell: cell.clone(),
            route,
        };
        match priority {
            Priority::Interactive => st.interactive.push_back(waiting),
            Priority::Bulk => st.bulk.push_back(waiting),
        }
        false
    }

    /// An admitted operation completed: hand its slot to the next waiting one (submitting it),
    /// or free the slot. Waiting operations whose futures are gone are dropped unrun.
    pub(crate) fn release(&self) {
        loop {
            let next = {
                let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                match st.interactive.pop_front().or_else(|| st.bulk.pop_front()) {
                    Some(w) => w,
                    None => {
                        st.in_flight -= 1;
                        return;
                    }
                }
            };
            if next.cell.is_abandoned() {
                next.core.shared.released();
                continue;
            }
            next.core.submit_admitted(next.cell, next.route);
            return;
        }
    }
}

/// Per-class bounds on operations in flight per device (`None`: unbounded).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeviceLimits {
    pub(crate) network: Option<usize>,
    pub(crate) rotational: Option<usize>,
    pub(crate) local: Option<usize>,
    pub(crate) memory: Option<usize>,
    pub(crate) unknown: Option<usize>,
}

impl Default for DeviceLimits {
    fn default() -> Self {
        DeviceLimits {
            // A network mount is one server: enough parallelism to hide latency, not enough for
            // one slow mount to take every pool thread.
            network: Some(64),
            // Parallel seeks thrash a spinning disk.
            rotational: Some(8),
            local: None,
            memory: None,
            unknown: None,
        }
    }
}

impl DeviceLimits {
    pub(crate) fn slot(&mut self, class: DeviceClass) -> &mut Option<usize> {
        match class {
            DeviceClass::Network => &mut self.network,
            DeviceClass::Local {
                rotational: Some(true),
            } => &mut self.rotational,
            DeviceClass::Local { .. } => &mut self.local,
            DeviceClass::Memory => &mut self.memory,
            DeviceClass::Unknown => &mut self.unknown,
        }
    }

    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    pub(crate) fn get(mut self, class: DeviceClass) -> Option<usize> {
        *self.slot(class)
    }
}

/// The gates of one engine, one per bounded device.
#[derive(Default)]
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
pub(crate) struct Gates {
    limits: DeviceLimits,
    gates: Mutex<HashMap<u64, Arc<Gate>>>,
}

impl Gates {
    pub(crate) fn new(limits: DeviceLimits) -> Gates {
        Gates {
            limits,
            gates: Mutex::default(),
        }
    }

    /// The gate of device `dev`, or `None` when its class is unbounded.
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    pub(crate) fn get(&self, dev: u64, class: DeviceClass) -> Option<Arc<Gate>> {
        let limit = self.limits.get(class)?;
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        Some(gates.entry(dev).or_insert_with(|| Gate::new(limit)).clone())
    }
}
