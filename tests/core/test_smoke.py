def test_the_login_page_renders_for_anyone(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b"Sign in" in response.content
