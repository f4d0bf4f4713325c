"""The local sandbox: emulators of the Cliniko, Salesforce and Dataverse APIs on 127.0.0.1.

The real connectors run against them unmodified, over real HTTPS with a CA the
sandbox makes for itself. With no credentials configured, the engine uses them.
"""
