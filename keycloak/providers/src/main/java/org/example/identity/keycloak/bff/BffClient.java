package org.example.identity.keycloak.bff;

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
 * The BFF's internal endpoints for Keycloak's providers (`/internal/v1/keycloak/*`: brokered-login,
 * state-claim, upstream-login; documented in bff/openapi.yaml): authenticated POSTs, JSON back. What
 * is not an answer is "unavailable", so the authenticators offer a retry instead of guessing. One
 * client for all of them; each authenticator reads the answers of its own endpoint.
 */
public final class BffClient {

    public static final class UnavailableException extends Exception {
        public UnavailableException(String message) {
            super(message);
        }
    }

    /** An answer of the BFF: its status and JSON body (a problem+json body for 4xx). */
    public record Answer(int status, JsonNode body) {
    }

    private final String base;
    private final String secret;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    public BffClient(String baseUrl, String secret) {
        this.base = baseUrl == null || baseUrl.isBlank() ? null : baseUrl.replaceAll("/+$", "");
        this.secret = secret;
    }

    public boolean configured() {
        return base != null && secret != null && !secret.isBlank();
    }

    /**
     * POSTs JSON to an internal BFF endpoint. 2xx and 4xx come back as answers (4xx are the BFF's
     * refusals); no answer, 401 (wrong secret), 5xx or a body that is not JSON: UnavailableException.
     */
    public Answer post(String path, Map<String, ?> request) throws UnavailableException {
        if (!configured()) throw new UnavailableException("not configured (url and secret of the SPI)");
        HttpResponse<String> res;
        try {
            HttpRequest req = HttpRequest.newBuilder(URI.create(base + path))
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
        if (res.statusCode() >= 500 || res.statusCode() < 200 || (res.statusCode() >= 300 && res.statusCode() < 400)) {
            throw new UnavailableException("BFF answered HTTP " + res.statusCode());
        }
        try {
            return new Answer(res.statusCode(), JsonSerialization.readValue(res.body(), JsonNode.class));
        } catch (IOException e) {
            throw new UnavailableException("BFF answered something other than JSON");
        }
    }
}
