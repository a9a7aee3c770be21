"""Generated sector source systems: deterministic, scalable and faulty like the real ones."""
