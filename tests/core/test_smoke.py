def test_the_login_page_renders_for_anyone(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_pages_name_their_icon_and_favicon_ico_leads_to_it_so_browsers_log_no_404(client):
    page = client.get("/login/").content.decode()
    assert '<link rel="icon" href="/static/img/favicon' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
