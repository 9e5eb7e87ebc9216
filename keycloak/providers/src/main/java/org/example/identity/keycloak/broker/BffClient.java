package org.example.identity.keycloak.broker;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.keycloak.util.JsonSerialization;

/**
 * The BFF's internal brokered-login endpoint (bff/src/flows/brokered-login, documented in
 * bff/openapi.yaml): one authenticated POST, a decision back. Anything but a well-formed 200 is
 * "unavailable", so the authenticator offers a retry instead of guessing.
 */
final class BffClient {

    static final String PATH = "/internal/v1/keycloak/brokered-login";

    /** The BFF's answer: `continue`, or `refuse` with a reason the login page explains. */
    record Decision(boolean proceed, String reason) {
    }

    static final class UnavailableException extends Exception {
        UnavailableException(String message) {
            super(message);
        }
    }

    private final URI endpoint;
    private final String secret;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    BffClient(String baseUrl, String secret) {
        this.endpoint = baseUrl == null || baseUrl.isBlank() ? null : URI.create(baseUrl.replaceAll("/+$", "") + PATH);
        this.secret = secret;
    }

    boolean configured() {
        return endpoint != null && secret != null && !secret.isBlank();
    }

    Decision check(Map<String, Object> request) throws UnavailableException {
        if (!configured()) throw new UnavailableException("not configured (url and secret of the platform-bff-check SPI)");
        HttpResponse<String> res;
        try {
            HttpRequest req = HttpRequest.newBuilder(endpoint)
                    // Longer than the BFF's own upstream timeouts and retries, so it can answer 503 itself.
                    .timeout(Duration.ofSeconds(20))
                    .header("authorization", "Bearer " + secret)
                    .header("content-type", "application/json")
                    .header("accept", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(JsonSerialization.writeValueAsString(request)))
                    .build();
            res = http.send(req, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UnavailableException("BFF not reachable (" + e.getClass().getSimpleName() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException("interrupted");
        }
        if (res.statusCode() == 401) {
            throw new UnavailableException("BFF refused the shared secret (HTTP 401): it must equal the BFF's KEYCLOAK_CALLBACK_SECRET");
        }
        if (res.statusCode() != 200) throw new UnavailableException("BFF answered HTTP " + res.statusCode());
        JsonNode body;
        try {
            body = JsonSerialization.readValue(res.body(), JsonNode.class);
        } catch (IOException e) {
            throw new UnavailableException("BFF answered something other than JSON");
        }
        String outcome = body.path("outcome").asText("");
        if (outcome.equals("continue")) return new Decision(true, null);
        if (outcome.equals("refuse")) return new Decision(false, body.path("reason").asText(""));
        throw new UnavailableException("BFF answered an unknown outcome");
    }
}
