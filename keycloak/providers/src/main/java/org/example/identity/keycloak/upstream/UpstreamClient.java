package org.example.identity.keycloak.upstream;

import java.util.Map;

import org.example.identity.keycloak.bff.BffClient.UnavailableException;
import org.example.identity.keycloak.bff.BffClient;
import org.keycloak.Config;

/**
 * The BFF's lazy-migration endpoints (bff/src/flows/upstream-login, documented in bff/openapi.yaml)
 * through the shared {@link BffClient}: the Keycloak user id to go on with (or none). Anything but a
 * well-formed 200 is "unavailable", so the login page says so instead of guessing. The BFF holds the rules.
 */
final class UpstreamClient {

    static final String LOGIN_PATH = "/internal/v1/keycloak/upstream-login";
    static final String RESET_PATH = "/internal/v1/keycloak/upstream-reset";

    private final BffClient bff;

    /** Settings are server options (never realm data, which the Admin API can read): {@code url} and {@code secret}. */
    static UpstreamClient fromConfig(Config.Scope config) {
        return new UpstreamClient(new BffClient(config.get("url"), config.get("secret")));
    }

    private UpstreamClient(BffClient bff) {
        this.bff = bff;
    }

    boolean configured() {
        return bff.configured();
    }

    /** The user id to validate the password against; null when the BFF has none. */
    String signIn(String login, String password, String userId) throws UnavailableException {
        return post(LOGIN_PATH, userId == null
                ? Map.of("login", login, "password", password)
                : Map.of("login", login, "password", password, "userId", userId));
    }

    /** The user id to send the reset mail to; null when the BFF has none. */
    String prepareReset(String login) throws UnavailableException {
        return post(RESET_PATH, Map.of("login", login));
    }

    private String post(String path, Map<String, String> request) throws UnavailableException {
        BffClient.Answer res = bff.post(path, request);
        if (res.status() != 200) throw new UnavailableException("BFF answered HTTP " + res.status());
        String outcome = res.body().path("outcome").asText("");
        if (outcome.equals("none")) return null;
        if (outcome.equals("user") && !res.body().path("userId").asText("").isEmpty()) return res.body().path("userId").asText();
        throw new UnavailableException("BFF answered an unknown outcome");
    }
}
