websocket_urlpatterns: list = [
    # /ws/calls (live monitoring) and /v1/media/twilio (media streams) are added by their issues.
]
