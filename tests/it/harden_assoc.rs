//! HubSpot associations: the contract's answers and the connector's handling of per-input errors.
