from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"

    def ready(self) -> None:
        from compliance.audit import audit_event_write  # models are loaded only now
        from wordcab_admin.kernel.audit import audit_writer_set

        audit_writer_set(audit_event_write)
