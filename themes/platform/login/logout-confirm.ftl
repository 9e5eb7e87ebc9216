<#--
  base's logout-confirm.ftl without the tabindex="4" on its button: a positive tabindex takes the
  button out of the page's keyboard order (axe-core: serious). Same form, fields and link as base.
-->
<#import "template.ftl" as layout>
<#import "buttons.ftl" as buttons>
<@layout.registrationLayout; section>
    <#if section = "header">
        ${msg("logoutConfirmTitle")}
    <#elseif section = "form">
        <div id="kc-logout-confirm" class="content-area">
            <p class="instruction pf-v5-u-mb-md">${msg("logoutConfirmHeader")}</p>
            <form class="form-actions" action="${url.logoutConfirmAction}" onsubmit="confirmLogout.disabled = true; return true;" method="POST">
                <input type="hidden" name="session_code" value="${logoutConfirm.code}">
                <@buttons.actionGroup>
                    <input class="${properties.kcButtonPrimaryClass!} ${properties.kcButtonBlockClass!}" name="confirmLogout" id="kc-logout" type="submit" value="${msg("doLogout")}"/>
                </@buttons.actionGroup>
            </form>
            <div id="kc-info-message">
                <#if !logoutConfirm.skipLink && (client.baseUrl)?has_content>
                    <p><a href="${client.baseUrl}">${msg("backToApplication")}</a></p>
                </#if>
            </div>
        </div>
    </#if>
</@layout.registrationLayout>
