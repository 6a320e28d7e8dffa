from django.apps import AppConfig


class RecordingsConfig(AppConfig):
    name = "recordings"

    def ready(self) -> None:
        # Registers the upload and retention tasks in every process, so that services can queue them by name.
        from compliance.holds import HoldTarget, hold_target_checker_set
        from compliance.retention import retention_change_listener_set
        from recordings import tasks  # noqa: F401
        from recordings.retention import expiry_recompute_request, hold_target_exists

        # compliance stands below recordings: a policy change asks us to recompute expiries, and a hold on a
        # call or campaign asks us whether it exists (compliance/retention.py, compliance/holds.py).
        retention_change_listener_set(expiry_recompute_request)
        hold_target_checker_set(HoldTarget.CALL, hold_target_exists(HoldTarget.CALL))
        hold_target_checker_set(HoldTarget.CAMPAIGN, hold_target_exists(HoldTarget.CAMPAIGN))
