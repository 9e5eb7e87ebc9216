<#--
  Shown by the platform-bff-check authenticator (keycloak/providers) when the BFF cannot answer during
  a sign-in through Google. The button posts back to the same step, so the sign-in resumes where it
  stopped. Built from the parent's layout and button macros, like its delete-credential.ftl.
-->
<#import "template.ftl" as layout>
<#import "buttons.ftl" as buttons>
<@layout.registrationLayout displayMessage=true; section>
  <#if section = "header">
    ${msg("platformBrokeredLoginUnavailableTitle", identityProviderName!"")}
  <#elseif section = "form">
    <form id="platform-brokered-login-retry" class="${properties.kcFormClass!}" action="${url.loginAction}" method="post">
      <@buttons.actionGroup>
        <@buttons.button id="platform-try-again" name="retry" label="platformTryAgain"/>
      </@buttons.actionGroup>
    </form>
  </#if>
</@layout.registrationLayout>
