<#--
  Shown by the platform-sign-up realm resource (keycloak/providers; docs/decisions/0027) when a finished
  sign-up comes back to Keycloak but this browser has no sign-in in progress for it (it expired, or the
  link was opened in another browser): the account exists, so "Sign in" leads back to the application.
-->
<#import "template.ftl" as layout>
<#import "buttons.ftl" as buttons>
<@layout.registrationLayout; section>
  <#if section = "header">
    ${msg("platformSignUpReadyTitle")}
  <#elseif section = "form">
    <p id="platform-sign-up-ready" class="pf-v5-u-mb-md">${msg("platformSignUpReadyExpired")}</p>
    <@buttons.actionGroup>
      <a id="platform-sign-in" href="${platformSignInUrl}" class="${properties.kcButtonPrimaryClass!} ${properties.kcButtonBlockClass!}">${msg("platformSignUpReadyAction")}</a>
    </@buttons.actionGroup>
  </#if>
</@layout.registrationLayout>
