//! One run at a time: the vault lock, and the pacing of HubSpot's search limit across runs.
