<#--
  Keycloak's account console, replaced (docs/decisions/0031-account-console.md): Keycloak renders this
  page for every address under /realms/<realm>/account/ (before any sign-in: the console's own app
  would sign in by itself), and it sends the browser on to the portal in the language Keycloak
  resolved; the portal finds a Keycloak session by itself, so a signed-in person lands on the profile. Keycloak's own pages lead here when they have nowhere else to go (a
  link from a mail opened in another browser ends at the account client's URL).
  The portal's URL is the realm attribute platformPortalUrl (realm-config, from PORTAL_URL).
-->
<#assign portalUrl = (realm.getAttribute("platformPortalUrl"))!"">
<#assign language = (locale?split("-")[0])!"en">
<#assign target = portalUrl + "?lang=" + language?url("UTF-8")>
<#assign loginResources = resourceUrl?replace("/account/", "/login/")>
<!DOCTYPE html>
<html lang="${language}" dir="ltr">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <meta name="robots" content="noindex, nofollow">
  <#if portalUrl?has_content><meta http-equiv="refresh" content="0; url=${target}"></#if>
  <title>${msg("platformAccountMovedTitle")}</title>
  <link rel="stylesheet" href="${loginResources}/css/brand.css">
  <link rel="stylesheet" href="${loginResources}/css/pages.css">
</head>
<body>
  <div class="page single">
    <header class="brand"><img src="${loginResources}/img/logo.svg" alt="" width="44" height="44"><span>${msg("platformProductName")}</span></header>
    <main class="card stack" id="account-moved">
      <div class="card-header"><h1 id="title">${msg("platformAccountMovedTitle")}</h1></div>
      <p class="lead">${msg("platformAccountMovedBody")}</p>
      <#if portalUrl?has_content><a class="button primary" id="to-portal" href="${target}">${msg("platformAccountMovedLink")}</a></#if>
    </main>
  </div>
</body>
</html>
