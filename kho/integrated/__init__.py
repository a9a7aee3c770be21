"""The integrated zone: subject-oriented entities with one master key and their history."""
