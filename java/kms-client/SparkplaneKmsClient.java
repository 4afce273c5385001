/*
 * sparkplane KMS client for Parquet modular encryption (parquet-hadoop's KmsClient).
 *
 * Wraps and unwraps Parquet data keys through the per-instance KMS of a sparkplane server:
 *   POST {url}/v3/analytics_engines/{instance}/kms/keys/{key}/wrap    {"key": base64}
 *   POST {url}/v3/analytics_engines/{instance}/kms/keys/{key}/unwrap  {"wrapped": ...}
 * authenticated with the caller's IAM bearer token (parquet.encryption.key.access.token).
 *
 * Hadoop configuration (spark.hadoop.* in Spark):
 *   parquet.encryption.kms.client.class = io.sparkplane.kms.SparkplaneKmsClient
 *   parquet.encryption.kms.instance.url = https://127.0.0.1:8443   (sparkplane server)
 *   parquet.encryption.kms.instance.id  = <instance id>
 *   parquet.encryption.key.access.token = <bearer token>
 *   sparkplane.kms.truststore           = PEM file of the certificate(s) to trust; the server's
 *                                         certificate must chain to one of them and match the
 *                                         host name (no other CA is trusted when it is set).
 * One source file, compiled with javac against the Spark installation's jars.
 */
package io.sparkplane.kms;

import java.io.FileInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Base64;
import java.util.Collection;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.crypto.KeyAccessDeniedException;
import org.apache.parquet.crypto.ParquetCryptoRuntimeException;
import org.apache.parquet.crypto.keytools.KmsClient;

public class SparkplaneKmsClient implements KmsClient {
  /** Hadoop conf key: PEM file of the trusted server certificate(s). */
  public static final String TRUSTSTORE = "sparkplane.kms.truststore";

  private static final Pattern NAME = Pattern.compile("^[A-Za-z0-9_.-]{1,64}$");

  private HttpClient http;
  private String base;
  private String token;

  @Override
  public void initialize(Configuration conf, String kmsInstanceID, String kmsInstanceURL,
      String accessToken) throws KeyAccessDeniedException {
    if (kmsInstanceURL == null || kmsInstanceURL.isEmpty()
        || KmsClient.KMS_INSTANCE_URL_DEFAULT.equals(kmsInstanceURL)) {
      throw new ParquetCryptoRuntimeException(
          "sparkplane KMS: set parquet.encryption.kms.instance.url to the sparkplane server URL");
    }
    if (kmsInstanceID == null || !NAME.matcher(kmsInstanceID).matches()) {
      throw new ParquetCryptoRuntimeException(
          "sparkplane KMS: set parquet.encryption.kms.instance.id to the instance id");
    }
    if (accessToken == null || accessToken.isEmpty()
        || KmsClient.KEY_ACCESS_TOKEN_DEFAULT.equals(accessToken)) {
      throw new KeyAccessDeniedException(
          "sparkplane KMS: no access token (parquet.encryption.key.access.token)");
    }
    this.token = accessToken;
    String url = kmsInstanceURL.endsWith("/")
        ? kmsInstanceURL.substring(0, kmsInstanceURL.length() - 1) : kmsInstanceURL;
    if (!url.startsWith("https://")) {
      throw new ParquetCryptoRuntimeException("sparkplane KMS: the URL must be https://");
    }
    this.base = url + "/v3/analytics_engines/" + kmsInstanceID + "/kms/keys/";
    HttpClient.Builder b = HttpClient.newBuilder()
        .connectTimeout(Duration.ofSeconds(10))
        .version(HttpClient.Version.HTTP_1_1);
    String pem = conf.getTrimmed(TRUSTSTORE);
    if (pem != null && !pem.isEmpty()) {
      b.sslContext(trusting(pem));
    }
    this.http = b.build();
  }

  private static SSLContext trusting(String pemPath) {
    try (InputStream in = new FileInputStream(pemPath)) {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      Collection<? extends Certificate> certs = cf.generateCertificates(in);
      if (certs.isEmpty()) {
        throw new ParquetCryptoRuntimeException("sparkplane KMS: no certificate in " + pemPath);
      }
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int i = 0;
      for (Certificate c : certs) {
        ks.setCertificateEntry("sparkplane-" + (i++), c);
      }
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (ParquetCryptoRuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new ParquetCryptoRuntimeException(
          "sparkplane KMS: cannot load truststore " + pemPath + ": " + e, e);
    }
  }

  @Override
  public String wrapKey(byte[] keyBytes, String masterKeyIdentifier)
      throws KeyAccessDeniedException {
    String body = "{\"key\":\"" + Base64.getEncoder().encodeToString(keyBytes) + "\"}";
    return field(call(masterKeyIdentifier, "wrap", body), "wrapped");
  }

  @Override
  public byte[] unwrapKey(String wrappedKey, String masterKeyIdentifier)
      throws KeyAccessDeniedException {
    if (!wrappedKey.matches("^[A-Za-z0-9+/=]+$")) {
      throw new ParquetCryptoRuntimeException("sparkplane KMS: malformed wrapped key");
    }
    String body = "{\"wrapped\":\"" + wrappedKey + "\"}";
    return Base64.getDecoder().decode(field(call(masterKeyIdentifier, "unwrap", body), "key"));
  }

  private String call(String key, String op, String body) throws KeyAccessDeniedException {
    if (key == null || !NAME.matcher(key).matches()) {
      throw new ParquetCryptoRuntimeException("sparkplane KMS: invalid key name " + key);
    }
    HttpRequest req = HttpRequest.newBuilder(URI.create(base + key + "/" + op))
        .timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
        .build();
    HttpResponse<String> res;
    try {
      res = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (java.io.IOException e) {
      throw new ParquetCryptoRuntimeException(
          "sparkplane KMS: request to " + base + key + "/" + op + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ParquetCryptoRuntimeException("sparkplane KMS: interrupted", e);
    }
    int s = res.statusCode();
    if (s == 401 || s == 403 || s == 404) {
      throw new KeyAccessDeniedException("sparkplane KMS authorization error (HTTP " + s
          + ") for key " + key + ": " + message(res.body()));
    }
    if (s != 200) {
      throw new ParquetCryptoRuntimeException(
          "sparkplane KMS error (HTTP " + s + ") for key " + key + ": " + message(res.body()));
    }
    return res.body();
  }

  private static String field(String json, String name) {
    Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([A-Za-z0-9+/=]+)\"").matcher(json);
    if (!m.find()) {
      throw new ParquetCryptoRuntimeException("sparkplane KMS: no `" + name + "` in answer");
    }
    return m.group(1);
  }

  private static String message(String json) {
    Matcher m = Pattern.compile("\"message\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(json);
    return m.find() ? m.group(1) : json;
  }
}
