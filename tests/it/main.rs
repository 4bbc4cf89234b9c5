mod sandbox_hubspot;
