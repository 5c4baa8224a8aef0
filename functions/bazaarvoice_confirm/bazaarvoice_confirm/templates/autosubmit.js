const region = document.getElementById("confirm-status");
region.textContent = region.dataset.message;
document.getElementById("confirm-form").submit();