"""The embedded demo: a shop's help guide and small simulators of the carrier sites it links to."""
