<#--
  base's idp-review-user-profile.ftl with an introduction (issue 17 §10, docs/decisions/0032): the page
  appears when the details from Google are incomplete, or after "Create a separate account" on the
  linking page, and base only says "Update account information" above the fields.
-->
<#import "template.ftl" as layout>
<#import "user-profile-commons.ftl" as userProfileCommons>
<@layout.registrationLayout displayMessage=messagesPerField.exists('global') displayRequiredFields=true; section>
    <#if section = "header">
        ${msg("loginIdpReviewProfileTitle")}
    <#elseif section = "form">
        <p id="platform-review-intro" class="pf-v5-u-mt-sm pf-v5-u-mb-md"><#if idpDisplayName??>${msg("platformReviewProfileIntro", idpDisplayName)}<#else>${msg("platformReviewProfileIntroGeneric")}</#if></p>
        <form id="kc-idp-review-profile-form" class="${properties.kcFormClass!}" action="${url.loginAction}" method="post">

            <@userProfileCommons.userProfileFormFields/>

            <div class="${properties.kcFormGroupClass!}">
                <div id="kc-form-buttons" class="${properties.kcFormButtonsClass!}">
                    <input class="${properties.kcButtonClass!} ${properties.kcButtonPrimaryClass!} ${properties.kcButtonBlockClass!} ${properties.kcButtonLargeClass!}" type="submit" value="${msg("doSubmit")}" />
                </div>
            </div>
        </form>
    </#if>
</@layout.registrationLayout>
