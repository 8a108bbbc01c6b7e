//! The timeline of a failed backup: its log, server lines naming it, PVB/DataUpload transitions, events.
