//! The Services the engine knows, with the Endpoints and EndpointSlices that list the
//! addresses behind them: what `toServices` peers are resolved against.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::cluster::{EndpointSlice, Endpoints, PodKey, Service};
use crate::policy::services::ServicePeer;

/// Services, Endpoints and EndpointSlices by `namespace/name`.
#[derive(Clone, Debug, Default)]
pub struct ServiceTable {
    services: BTreeMap<PodKey, Service>,
    endpoints: BTreeMap<PodKey, Endpoints>,
    slices: BTreeMap<PodKey, EndpointSlice>,
}

fn upsert<T: PartialEq>(map: &mut BTreeMap<PodKey, T>, key: PodKey, value: T) -> bool {
    if map.get(&key) == Some(&value) {
        return false;
    }
    map.insert(key, value);
    true
}

impl ServiceTable {
    /// Creates or replaces a Service; returns whether anything changed.
    pub fn upsert_service(&mut self, s: Service) -> bool {
        upsert(&mut self.services, PodKey::new(&s.namespace, &s.name), s)
    }

    /// Creates or replaces an Endpoints; returns whether anything changed.
    pub fn upsert_endpoints(&mut self, e: Endpoints) -> bool {
        upsert(&mut self.endpoints, PodKey::new(&e.namespace, &e.name), e)
    }

    /// Creates or replaces an EndpointSlice; returns whether anything changed.
    pub fn upsert_slice(&mut self, s: EndpointSlice) -> bool {
        upsert(&mut self.slices, PodKey::new(&s.namespace, &s.name), s)
    }

    /// Removes a Service; returns whether it was there.
    pub fn remove_service(&mut self, key: &PodKey) -> bool {
        self.services.remove(key).is_some()
    }

    /// Removes an Endpoints; returns whether it was there.
    pub fn remove_endpoints(&mut self, key: &PodKey) -> bool {
        self.endpoints.remove(key).is_some()
    }

    /// Removes an EndpointSlice; returns whether it was there.
    pub fn remove_slice(&mut self, key: &PodKey) -> bool {
        self.slices.remove(key).is_some()
    }

    /// Every Service, by namespace and name.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.values()
    }

    /// The Services a `toServices` entry reaches, by namespace and name.
    pub fn matching<'a>(&'a self, peer: &'a ServicePeer) -> impl Iterator<Item = &'a Service> {
        let range = match peer {
            // One name in one namespace: a lookup.
            ServicePeer::Name {
                name,
                namespace: Some(ns),
            } => {
                let key = PodKey::new(ns, name);
                self.services.range(key.clone()..=key)
            }
            _ => self.services.range(..),
        };
        range.map(|(_, s)| s).filter(|s| peer.matches(s))
    }

    /// The addresses behind `service`: those of the Endpoints of its name and of the
    /// EndpointSlices labelled with it, sorted, each once.
    pub fn addresses(&self, service: &Service) -> BTreeSet<IpAddr> {
        let key = PodKey::new(&service.namespace, &service.name);
        let from_endpoints = self
            .endpoints
            .get(&key)
            .into_iter()
            .flat_map(|e| &e.addresses);
        let from_slices = self
            .slices
            .range(PodKey::new(&service.namespace, "")..)
            .take_while(|(k, _)| k.namespace == service.namespace)
            .filter(|(_, s)| s.service.as_deref() == Some(service.name.as_str()))
            .flat_map(|(_, s)| &s.addresses);
        from_endpoints.chain(from_slices).copied().collect()
    }
}
