"""Carry a learner's whole wallet out and back in (docs/export-format.md).

exporting.py writes the ZIP, restoring.py reads one into an account (the ZIP is untrusted input,
docs/security.md C12), manifest.py holds the manifest's schema, jobs.py runs exports in the background.
"""
from wallet.services.portability.exporting import export_filename, snapshot, write_export, write_export_file
from wallet.services.portability.jobs import job_file, job_state, start_export, start_import
from wallet.services.portability.manifest import FORMAT_NAME, FORMAT_VERSION, MANIFEST_SCHEMA, ManifestError
from wallet.services.portability.restoring import ExportArchive, ImportReport, Limits, import_export

__all__ = ["ExportArchive", "FORMAT_NAME", "FORMAT_VERSION", "ImportReport", "Limits", "MANIFEST_SCHEMA",
           "ManifestError", "export_filename", "import_export", "job_file", "job_state", "snapshot",
           "start_export", "start_import", "write_export", "write_export_file"]
