<#--
  base's login-page-expired.ftl as two buttons (docs/decisions/0032): base builds its two choices from
  "To restart the login process" + a "Click here" link + a stray full stop, which messages cannot fix.
  Same links and ids as base: continue where the person was (loginAction) or start again (restart).
-->
<#import "template.ftl" as layout>
<#import "buttons.ftl" as buttons>
<@layout.registrationLayout; section>
    <#if section = "header">
        ${msg("pageExpiredTitle")}
    <#elseif section = "form">
        <p id="instruction1" class="pf-v5-u-mb-md">${msg("platformPageExpiredIntro")}</p>
        <@buttons.actionGroup>
            <a id="loginContinueLink" href="${url.loginAction}" class="${properties.kcButtonPrimaryClass!} ${properties.kcButtonBlockClass!}">${msg("platformContinueSignIn")}</a>
            <a id="loginRestartLink" href="${url.loginRestartFlowUrl}" class="${properties.kcButtonSecondaryClass!} ${properties.kcButtonBlockClass!}">${msg("platformStartAgain")}</a>
        </@buttons.actionGroup>
    </#if>
</@layout.registrationLayout>
