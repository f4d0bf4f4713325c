"""A local emulator of the Microsoft Graph drive API for one SharePoint site (Dynamics attachments, ref §8).

One site (`SITE_ID`) with its default document library: items by id and by
path, folders, simple uploads and upload sessions, delete, Graph's error
bodies, injected faults. Tokens come from the Dataverse sandbox's tenant.

    store.py    the drive: items in SQLite, content on disk, upload sessions
    app.py      routes, auth, fragment rules, driveItem shapes
    factory.py  start_graph_sandbox
"""

from engine.sandbox.graph.app import FRAGMENT_UNIT, SIMPLE_UPLOAD_LIMIT, GraphApp, fault_response
from engine.sandbox.graph.factory import start_graph_sandbox
from engine.sandbox.graph.store import DRIVE_ID, ROOT_ID, SITE_ID, Drive, GraphError

__all__ = ["DRIVE_ID", "FRAGMENT_UNIT", "ROOT_ID", "SIMPLE_UPLOAD_LIMIT", "SITE_ID", "Drive", "GraphApp",
           "GraphError", "fault_response", "start_graph_sandbox"]
